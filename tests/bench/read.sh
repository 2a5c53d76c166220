#!/bin/bash
# Single-node read benchmark: one file read sequentially and randomly with fio, straight from
# the backend disk, through bindfs (a plain FUSE passthrough: the cost of FUSE itself), and
# through PeerFS cold (chunks loaded from the backend) and warm (chunks in the cache, page
# cache dropped). Prints one table.
#
#   tests/bench/read.sh [FILE_MIB (1024)]
#   PEERFS_MOUNT_OPTS="--libfuse none" tests/bench/read.sh 512   # another FUSE loop, same table
#
# Needs root, fio and bindfs (apt-get install fio bindfs) and a built tree.
set -euo pipefail
cd "$(dirname "$0")/../.."
MIB=${1:-1024}
WORK=$(mktemp -d /tmp/peerfs-readbench.XXXXXX)
PEERFS=bin/peerfs
trap '$PEERFS umount "$WORK/peerfs" >/dev/null 2>&1 || true; fusermount -u -z "$WORK/bindfs" 2>/dev/null || true; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/backend" "$WORK/bindfs" "$WORK/peerfs"
head -c "$((MIB << 20))" /dev/urandom > "$WORK/backend/file"
bindfs "$WORK/backend" "$WORK/bindfs"
# shellcheck disable=SC2086 # options are words
$PEERFS mount "$WORK/backend" "$WORK/peerfs" --cache-dir "$WORK/cache" ${PEERFS_MOUNT_OPTS:-} > /dev/null

drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }
run() { # $1 dir, $2 rw, $3 bs -> MiB/s
  drop
  fio --name=r --filename="$1/file" --rw="$2" --bs="$3" --size="${MIB}m" --readonly --direct=0 \
      --ioengine=psync --numjobs=1 --output-format=terse --terse-version=3 2>/dev/null | cut -d';' -f7 |
      awk '{printf "%d", $1 / 1024}'
}
printf '%-34s %14s %14s\n' "path" "seq 1M MiB/s" "rand 128k MiB/s"
printf '%-34s %14s %14s\n' "backend disk (page cache dropped)" "$(run "$WORK/backend" read 1m)" "$(run "$WORK/backend" randread 128k)"
printf '%-34s %14s %14s\n' "bindfs passthrough" "$(run "$WORK/bindfs" read 1m)" "$(run "$WORK/bindfs" randread 128k)"
cold_seq=$(run "$WORK/peerfs" read 1m)
printf '%-34s %14s %14s\n' "peerfs, cold (seq loads the cache)" "$cold_seq" "-"
printf '%-34s %14s %14s\n' "peerfs, warm (chunks cached)" "$(run "$WORK/peerfs" read 1m)" "$(run "$WORK/peerfs" randread 128k)"
echo "file: $MIB MiB; fio psync, one job; the kernel page cache is dropped before every run"
