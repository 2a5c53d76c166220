#!/bin/bash
# Single-node write benchmark of scratch files: fio sequential 1 MiB writes (1 GiB) and random
# 4 KiB writes (16 MiB), one job, fsync at the end, straight to the local disk, through bindfs
# (a plain FUSE passthrough), and through PeerFS on each FUSE loop: libfuse 3, PeerFS's own
# (--libfuse none, supervised: writes not yet synced are kept for a successor daemon) and the
# own loop unsupervised. Prints one table.
#
#   tests/bench/write.sh
#
# Needs root, fio and bindfs and a built tree.
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK=$(mktemp -d /tmp/peerfs-writebench.XXXXXX)
PEERFS=bin/peerfs
trap 'for m in "$WORK"/m*; do $PEERFS umount "$m" >/dev/null 2>&1 || true; done; fusermount -u -z "$WORK/bindfs" 2>/dev/null || true; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/disk" "$WORK/bindfs" "$WORK/bindfs-target"
bindfs "$WORK/bindfs-target" "$WORK/bindfs"
run() { # $1 dir -> "seq rand" in MiB/s
  local seq rnd
  seq=$(fio --name=w --directory="$1" --rw=write --bs=1m --size=1g --end_fsync=1 --ioengine=psync \
      --output-format=terse --terse-version=3 2>/dev/null | cut -d';' -f48 | awk '{printf "%d", $1 / 1024}')
  rnd=$(fio --name=r --directory="$1" --rw=randwrite --bs=4k --size=16m --end_fsync=1 --ioengine=psync \
      --output-format=terse --terse-version=3 2>/dev/null | cut -d';' -f48 | awk '{printf "%d", $1 / 1024}')
  rm -f "$1"/w.* "$1"/r.*
  echo "$seq $rnd"
}
row() { printf '%-46s %14s %16s\n' "$1" "$2" "$3"; }
row "path" "seq 1M MiB/s" "rand 4k MiB/s"
read -r s r < <(run "$WORK/disk"); row "local disk" "$s" "$r"
read -r s r < <(run "$WORK/bindfs"); row "bindfs passthrough" "$s" "$r"
i=0
for opts in "--libfuse 3" "--libfuse none" "--libfuse none --no-supervise"; do
  i=$((i + 1))
  mkdir -p "$WORK/b$i" "$WORK/m$i"
  # shellcheck disable=SC2086 # options are words
  $PEERFS mount "$WORK/b$i" "$WORK/m$i" --cache-dir "$WORK/c$i" $opts > /dev/null
  mkdir "$WORK/m$i/scratch"
  read -r s r < <(run "$WORK/m$i/scratch"); row "peerfs scratch, $opts" "$s" "$r"
  $PEERFS umount "$WORK/m$i" > /dev/null
done
echo "fio psync, one job, --end_fsync=1; scratch files live in the cache dir (same disk)"
