#!/bin/bash
# Peer fetch benchmark: N = 1, 2, 4 daemons on this machine mount one backend and all read the
# same dataset at once. Prints, per N, what the backend served (the daemons' counters) and the
# wall time, next to reading the dataset straight from the backend disk once.
#
#   tests/bench/peer-read.sh [DATASET_MIB (512)] [FILES (8)]
#
# Needs root (mounts, drop_caches) and a built tree (mvn -DskipTests package). Loopback only.
set -euo pipefail
cd "$(dirname "$0")/../.."
MIB=${1:-512}
FILES=${2:-8}
WORK=$(mktemp -d /tmp/peerfs-bench.XXXXXX)
PEERFS=bin/peerfs
trap 'for m in "$WORK"/mnt*; do $PEERFS umount "$m" >/dev/null 2>&1 || fusermount -u -z "$m" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT

mkdir -p "$WORK/backend/data"
PER=$((MIB / FILES))
for i in $(seq 1 "$FILES"); do
  head -c "$((PER << 20))" /dev/urandom > "$WORK/backend/data/f$i"
done
(umask 077; head -c 48 /dev/urandom | base64 > "$WORK/secret")

drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }
now() { date +%s%N; }
secs() { printf "%d.%02d" $(($1 / 1000000000)) $((($1 % 1000000000) / 10000000)); }

drop
t0=$(now)
cat "$WORK"/backend/data/* > /dev/null
t1=$(now)
printf '%-28s %8s %14s %12s %10s\n' "setup" "daemons" "backend MiB" "wall s" "MiB/s/node"
ns=$((t1 - t0))
printf '%-28s %8s %14s %12s %10d\n' "local disk, read once" "-" "$MIB" "$(secs $ns)" $((MIB * 1000000000 / ns))

for N in 1 2 4; do
  ports=()
  for i in $(seq 1 "$N"); do ports+=("127.0.0.1:$((17300 + i))"); done
  peers=$(IFS=,; echo "${ports[*]}")
  for i in $(seq 1 "$N"); do
    mkdir -p "$WORK/mnt$i"
    $PEERFS mount "$WORK/backend" "$WORK/mnt$i" --cache-dir "$WORK/cache-$N-$i" --listen "${ports[$((i - 1))]}" \
      --peers "$peers" --secret-file "$WORK/secret" > /dev/null
  done
  drop
  t0=$(now)
  for i in $(seq 1 "$N"); do
    ( for f in $(ls "$WORK/mnt$i/data" | shuf --random-source=<(yes "$i")); do cat "$WORK/mnt$i/data/$f" > /dev/null; done ) &
  done
  wait
  t1=$(now)
  total=0
  for i in $(seq 1 "$N"); do
    b=$($PEERFS status "$WORK/mnt$i" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["backend"]["bytesRead"])')
    total=$((total + b))
  done
  ns=$((t1 - t0))
  printf '%-28s %8d %14d %12s %10d\n' "peerfs, all nodes read all" "$N" "$((total >> 20))" "$(secs $ns)" \
    $((MIB * 1000000000 / ns))
  for i in $(seq 1 "$N"); do $PEERFS umount "$WORK/mnt$i" > /dev/null; done
done
echo "dataset: $MIB MiB in $FILES files; backend MiB is the sum over all daemons (ideal: $MIB for any N)"
