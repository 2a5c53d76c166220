#!/bin/bash
# PeerFS benchmarks, side by side with their references in one run, on the same files:
# sequential read (cold, warm, 1 and 4 jobs), re-read from the page cache, random 4k/128k
# reads, sequential writes into scratch and result directories, small files (scratch on the
# embedded RocksDB, and shared through a local redis-server), and a cluster of 1, 2, 4
# daemons over a bandwidth-limited backend. Prints one table (MiB/s or ops/s, the ratio to
# the references, daemon RSS), then the fio commands used.
#
#   tests/bench/run.sh [--quick] [--size MIB] [--small-files N] [--cluster-mib MIB] [--only GROUPS]
#                      [--backend-mibs RATE[,RATE]]
#
# --quick: small sizes, a few seconds a row (CI runs it to prove the script works; its numbers
# mean little). Default: --size 2048 --small-files 10000 --cluster-mib 1024.
# --only: some row groups, comma-separated: seq (sequential reads), reread (re-read and random
# reads), write (sequential writes and small files), cluster. Default: all.
# --backend-mibs: the backend link's speed(s) for the cluster rows, MiB/s. Default 100,40: at
# 100 four daemons on this 2-core machine are bound by CPU, at 40 by the link.
# Needs root, fio, bindfs, rclone and redis-server (bin/install-deps installs them) and a
# built tree (mvn -B -DskipTests package). Uses loop devices and the blkio cgroup for the slow backend.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
SIZE=2048 SMALL=10000 CLUSTER=1024 RUNTIME=15 BACKEND_MIBS="100 40" ONLY=seq,reread,write,cluster ROUNDS=3
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) SIZE=64 SMALL=300 CLUSTER=64 RUNTIME=2 BACKEND_MIBS=100 ROUNDS=1 ;;
    --backend-mibs) BACKEND_MIBS=${2//,/ }; shift ;;
    --size) SIZE=$2; shift ;;
    --small-files) SMALL=$2; shift ;;
    --cluster-mib) CLUSTER=$2; shift ;;
    --only) ONLY=$2; shift
      for g in ${ONLY//,/ }; do
        case "$g" in seq|reread|write|cluster) ;; *) echo "run.sh: --only takes seq, reread, write, cluster" >&2; exit 2 ;; esac
      done ;;
    *) echo "run.sh: unknown argument '$1' (--quick, --size MIB, --small-files N, --cluster-mib MIB, --only GROUPS," \
         "--backend-mibs RATES)" >&2
       exit 2 ;;
  esac
  shift
done
for tool in fio bindfs rclone redis-server redis-cli python3 losetup mkfs.ext4; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (bin/install-deps installs it)" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "run.sh: needs root (mounts, drop_caches, cgroups)" >&2; exit 1; }
[ -d cli/target/lib ] || { echo "run.sh: build first: mvn -B -DskipTests package" >&2; exit 1; }

PEERFS="$ROOT/bin/peerfs"
WORK=$(mktemp -d /var/tmp/peerfs-bench.XXXXXX)
LOCAL="$WORK/local"        # the cache disk's own file system: the physical limit
BACK="$WORK/backend"       # the "central store": an ext4 image on a loop device
CG=/sys/fs/cgroup/blkio/peerfs-bench
LOOP=""
# a port no one listens on now (the kernel's pick): a fixed one clashes with a server already there
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
REDIS_PORT=$(free_port)
cleanup() {
  set +e
  [ -f "$WORK/redis.pid" ] && redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1
  for m in "$WORK"/mnt-*; do
    [ -d "$m" ] && { "$PEERFS" umount "$m" >/dev/null 2>&1 || fusermount -u -z "$m" >/dev/null 2>&1; }
  done
  mountpoint -q "$BACK" && umount -l "$BACK"
  [ -n "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null
  [ -d "$CG" ] && rmdir "$CG" 2>/dev/null
  [ -n "$PIPE_MAX_BEFORE" ] && echo "$PIPE_MAX_BEFORE" > /proc/sys/fs/pipe-max-size
  rm -rf "$WORK"
}
PIPE_MAX_BEFORE=""
trap cleanup EXIT
# pipes of 2 MiB, as the deb package sets them (60-peerfs.conf): libfuse 3 read replies are
# then spliced from the daemon's reused buffers; put back when the run ends
if [ "$(cat /proc/sys/fs/pipe-max-size)" -lt 2097152 ]; then
  PIPE_MAX_BEFORE=$(cat /proc/sys/fs/pipe-max-size)
  echo 2097152 > /proc/sys/fs/pipe-max-size
fi

# ---- data: one big file, four quarter files (one per job), on the backend and on local disk
mkdir -p "$LOCAL" "$BACK"
# the data, plus one write test at a time (bindfs, then a result file), plus small files
truncate -s $((4 * SIZE + SIZE / 8 + 2 * CLUSTER + SMALL / 16 + 1024))M "$WORK/backend.img"
mkfs.ext4 -q -F "$WORK/backend.img"
LOOP=$(losetup -f --show "$WORK/backend.img")
mount "$LOOP" "$BACK"
mkdir -p "$BACK/data" "$BACK/cluster" "$BACK/out" "$BACK/warmup"
(umask 077; head -c 48 /dev/urandom | base64 > "$WORK/secret") # peers' shared secret (shared scratch, cluster)
head -c $((SIZE << 20)) /dev/urandom > "$LOCAL/big"
for j in 0 1 2 3; do head -c $((SIZE / 4 << 20)) /dev/urandom > "$LOCAL/p.$j"; done
cp "$LOCAL"/big "$LOCAL"/p.* "$BACK/data/"
for i in $(seq 0 7); do head -c $((CLUSTER / 8 << 20)) /dev/urandom > "$BACK/cluster/f$i"; done
head -c $((SIZE / 8 << 20)) /dev/urandom > "$BACK/warmup/w"
sync

drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }
want() { [[ ",$ONLY," == *",$1,"* ]]; }
now() { date +%s%N; }
RESULTS="$WORK/results.tsv"
COMMANDS="$WORK/commands.txt"
ROUNDS_LOG="$WORK/rounds.txt"
: > "$RESULTS"
: > "$COMMANDS"
: > "$ROUNDS_LOG"
median() { printf '%s\n' "$@" | grep -v '^-$' | sort -n | awk '{v[NR] = $1} END {print NR ? v[int((NR + 1) / 2)] : "-"}'; }

# fio over DIR: $1 id, $2 dir, $3 rw, $4 bs, $5 jobs [$6 extra]; prints MiB/s
fio_run() {
  local id=$1 dir=$2 rw=$3 bs=$4 jobs=$5 extra=${6:-}
  local files
  if [ "$jobs" -eq 1 ]; then files="--filename=big"; else files="--filename_format=p.\$jobnum"; fi
  local size=$((jobs == 1 ? SIZE : SIZE / 4))
  local cmd="fio --name=$id --directory=DIR $files --rw=$rw --bs=$bs --numjobs=$jobs --size=${size}m"
  cmd="$cmd --ioengine=psync --direct=0 --group_reporting $extra"
  grep -q "^$id " "$COMMANDS" || echo "$id  $cmd" >> "$COMMANDS"
  # shellcheck disable=SC2086
  local out
  if ! out=$(${cmd/DIR/$dir} --output-format=json 2>&1); then
    echo "run.sh: $id in $dir failed: $(echo "$out" | grep -v '^[{} ]' | head -3)" >&2
    echo "-"
    return
  fi
  echo "$out" | python3 -c 'import json,sys; t=sys.stdin.read(); j=json.loads(t[t.index("{"):])["jobs"][0]
print(int((j["read"]["bw"]+j["write"]["bw"])/1024))'
}

rss() { # daemon RSS in MiB of the mount at $1
  local pid
  pid=$("$PEERFS" status --json "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["daemon"]["pid"])')
  awk '/VmRSS/ {print int($2/1024)}' "/proc/$pid/status"
}
record() { # row, value, unit, local ref, bindfs ref, rss[, backend ref]
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4:--}" "${5:--}" "${6:--}" "${7:--}" >> "$RESULTS"
}

MOUNT_READY_MS=()
peerfs_mount() { # $1 name, rest: options; a fresh cache each time
  local mnt="$WORK/mnt-$1"; shift
  mkdir -p "$mnt"
  rm -rf "$WORK/cache-$(basename "$mnt")"
  local t0; t0=$(now)
  "$PEERFS" mount "$BACK" "$mnt" --cache-dir "$WORK/cache-$(basename "$mnt")" --cache-size $((4 * SIZE + 1024))MiB \
    --metrics none "$@" > /dev/null
  MOUNT_READY_MS+=($((($(now) - t0) / 1000000)))
}
# the cache goes with the mount: caches left by earlier rows would fill the disk past
# --free-space-ratio, and a daemon whose cache takes no chunks reads the backend again
peerfs_umount() { "$PEERFS" umount "$WORK/mnt-$1" > /dev/null; rm -rf "$WORK/cache-mnt-$1"; }

echo "PeerFS benchmarks: $SIZE MiB per read set, $SMALL small files, cluster $CLUSTER MiB; $(nproc) cores, $(awk '/MemTotal/ {print int($2/1048576)}' /proc/meminfo) GiB" >&2

# ---- references: local disk, backend, bindfs, rclone
mkdir -p "$WORK/mnt-bindfs" "$WORK/mnt-rclone"
bindfs "$BACK" "$WORK/mnt-bindfs"
declare -A REF
if want seq; then
rclone mount "$BACK" "$WORK/mnt-rclone" --vfs-cache-mode full --cache-dir "$WORK/rclone-cache" --daemon \
  --vfs-read-chunk-size 4M 2>/dev/null
for i in $(seq 50); do mountpoint -q "$WORK/mnt-rclone" && break; sleep 0.1; done
for jobs in 1 4; do
  drop; REF[rclonecold$jobs]=$(fio_run "seq-read-$jobs" "$WORK/mnt-rclone/data" read 1m $jobs)
  drop; REF[rclonewarm$jobs]=$(fio_run "seq-read-$jobs" "$WORK/mnt-rclone/data" read 1m $jobs)
done
fusermount -u -z "$WORK/mnt-rclone" || true

# ---- sequential reads through PeerFS, each right after the references it is compared with:
# this disk's speed drifts by 2x within minutes, so a reference taken minutes earlier says little
for jobs in 1 4; do
  peerfs_mount seq
  # "cold" is a cold cache, not a cold JVM: a daemon serves for days, so its JIT has compiled
  # the read path before; one read of an unrelated file does that here
  cat "$WORK/mnt-seq/warmup/w" > /dev/null
  drop; REF[backend$jobs]=$(fio_run "seq-read-$jobs" "$BACK/data" read 1m $jobs)
  drop; cold=$(fio_run "seq-read-$jobs" "$WORK/mnt-seq/data" read 1m $jobs)
  drop; REF[bindfs$jobs]=$(fio_run "seq-read-$jobs" "$WORK/mnt-bindfs/data" read 1m $jobs)
  # local and warm in turns, the median of each: this disk's speed swings by 3x from one minute
  # to the next (one 2 GiB file read 427 then 1,460 MiB/s), so one reading of each says little
  locals=() warms=()
  for round in $(seq "$ROUNDS"); do
    drop; locals+=("$(fio_run "seq-read-$jobs" "$LOCAL" read 1m $jobs)")
    drop; warms+=("$(fio_run "seq-read-$jobs" "$WORK/mnt-seq/data" read 1m $jobs)")
  done
  REF[local$jobs]=$(median "${locals[@]}")
  warm=$(median "${warms[@]}")
  echo "seq read 1M, $jobs job(s), MiB/s in turns: local ${locals[*]}; peerfs warm ${warms[*]}" >> "$ROUNDS_LOG"
  r=$(rss "$WORK/mnt-seq")
  # the same cache once more through libfuse 2 (128 KiB requests), for the difference
  "$PEERFS" umount "$WORK/mnt-seq" > /dev/null
  "$PEERFS" mount "$BACK" "$WORK/mnt-seq" --cache-dir "$WORK/cache-mnt-seq" --cache-size $((4 * SIZE + 1024))MiB \
    --metrics none --libfuse 2 > /dev/null
  drop; warm2=$(fio_run "seq-read-$jobs" "$WORK/mnt-seq/data" read 1m $jobs)
  r2=$(rss "$WORK/mnt-seq")
  peerfs_umount seq
  for ref in local backend bindfs; do
    record "seq read 1M, $jobs job(s): $ref" "${REF[$ref$jobs]}" MiB/s
  done
  record "seq read 1M, $jobs job(s): rclone full cache, cold" "${REF[rclonecold$jobs]}" MiB/s
  record "seq read 1M, $jobs job(s): rclone full cache, warm" "${REF[rclonewarm$jobs]}" MiB/s
  record "seq read 1M, $jobs job(s): peerfs cold" "$cold" MiB/s "${REF[local$jobs]}" "${REF[bindfs$jobs]}" "$r" \
    "${REF[backend$jobs]}"
  record "seq read 1M, $jobs job(s): peerfs warm" "$warm" MiB/s "${REF[local$jobs]}" "${REF[bindfs$jobs]}" "$r"
  record "seq read 1M, $jobs job(s): peerfs warm, libfuse 2" "$warm2" MiB/s "${REF[local$jobs]}" \
    "${REF[bindfs$jobs]}" "$r2"
done
fi

if want reread; then
# ---- re-read (a second epoch): page cache kept. Each is read once to fill its page cache, then
# the three in turns, the median of each: a pass from memory takes a fraction of a second, and
# this machine's memory speed swings from minute to minute (one raw re-read: 5.5, then 13 GB/s)
keep="--invalidate=0 --loops=5" # fio drops a file's page cache before a job unless told not to
peerfs_mount reread
drop
rereads=("$LOCAL" "$WORK/mnt-bindfs/data" "$WORK/mnt-reread/data")
for d in "${rereads[@]}"; do fio_run re-read "$d" read 1m 1 "$keep" > /dev/null; done
raws=() bres=() pres=()
for round in $(seq "$ROUNDS"); do
  raws+=("$(fio_run re-read "$LOCAL" read 1m 1 "$keep")")
  bres+=("$(fio_run re-read "$WORK/mnt-bindfs/data" read 1m 1 "$keep")")
  pres+=("$(fio_run re-read "$WORK/mnt-reread/data" read 1m 1 "$keep")")
done
raw=$(median "${raws[@]}") bre=$(median "${bres[@]}") pre=$(median "${pres[@]}")
echo "re-read 1M from page cache, MiB/s in turns: local ${raws[*]}; bindfs ${bres[*]}; peerfs ${pres[*]}" >> "$ROUNDS_LOG"
r=$(rss "$WORK/mnt-reread")
record "re-read 1M from page cache: local file" "$raw" MiB/s
record "re-read 1M from page cache: bindfs" "$bre" MiB/s "$raw"
record "re-read 1M from page cache: peerfs" "$pre" MiB/s "$raw" "$bre" "$r"

# ---- random reads, warm (the file is in the chunk cache from the re-read; page cache dropped)
for bs in 4k 128k; do
  extra="--runtime=$RUNTIME --time_based"
  drop; l=$(fio_run "rand-read-$bs" "$LOCAL" randread $bs 1 "$extra")
  drop; b=$(fio_run "rand-read-$bs" "$WORK/mnt-bindfs/data" randread $bs 1 "$extra")
  drop; p=$(fio_run "rand-read-$bs" "$WORK/mnt-reread/data" randread $bs 1 "$extra")
  record "rand read $bs, warm: local" "$l" MiB/s
  record "rand read $bs, warm: bindfs" "$b" MiB/s "$l"
  record "rand read $bs, warm: peerfs" "$p" MiB/s "$l" "$b" "$(rss "$WORK/mnt-reread")"
done
peerfs_umount reread
fi

if want write; then
# ---- sequential writes, 1M, with fsync at the end (a result file is uploaded by then)
peerfs_mount write --result-paths 'out/**'
mkdir -p "$WORK/mnt-write/scratch" "$LOCAL/w" "$WORK/mnt-bindfs/w"
wr() { fio_run seq-write "$1" write 1m 1 "--end_fsync=1"; rm -f "$1/big"; }
l=$(wr "$LOCAL/w"); b=$(wr "$WORK/mnt-bindfs/w")
s=$(wr "$WORK/mnt-write/scratch"); o=$(wr "$WORK/mnt-write/out")
record "seq write 1M: local" "$l" MiB/s
record "seq write 1M: bindfs" "$b" MiB/s "$l"
record "seq write 1M: peerfs scratch" "$s" MiB/s "$l" "$b" "$(rss "$WORK/mnt-write")"
record "seq write 1M: peerfs result (uploaded)" "$o" MiB/s "$l" "$b" "$(rss "$WORK/mnt-write")"

# ---- small files: create + write 16 KiB + close, then stat all, then read all, then remove all
small() { # $1 dir -> "create/s stat/s read/s remove/s"
  python3 - "$1" "$SMALL" <<'EOF'
import os, sys, time
d, n = sys.argv[1], int(sys.argv[2])
os.makedirs(d, exist_ok=True)
data = os.urandom(16384)
def rate(step):
    t = time.perf_counter()
    for i in range(n):
        step(f"{d}/f{i}")
    return int(n / (time.perf_counter() - t))
def create(p):
    with open(p, "wb") as f:
        f.write(data)
def read(p):
    with open(p, "rb") as f:
        assert f.read() == data
print(rate(create), rate(os.stat), rate(read), rate(os.unlink))
EOF
}
echo "small-files  python3: create+write 16 KiB+close N files, then stat each, then read each, then remove each (N=$SMALL)" >> "$COMMANDS"
read -r lc ls lr lu <<< "$(small "$LOCAL/small")"
read -r bc bs br bu <<< "$(small "$WORK/mnt-bindfs/small")"
read -r pc ps pr pu <<< "$(small "$WORK/mnt-write/scratch/small")"
r=$(rss "$WORK/mnt-write")
peerfs_umount write
# the scratch namespace shared by a cluster (--meta redis://): every metadata change is a round
# trip to the server, here a redis-server on loopback that logs to its append-only file
echo "small-files-redis  the same on a mount with --meta redis://127.0.0.1:$REDIS_PORT/0 (redis-server --appendonly yes --appendfsync everysec)" >> "$COMMANDS"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$WORK" --appendonly yes --appendfsync everysec --save "" \
  --daemonize yes --pidfile "$WORK/redis.pid" --logfile "$WORK/redis.log"
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
[ -f "$WORK/redis.pid" ] || { echo "run.sh: redis-server did not start: $(tail -3 "$WORK/redis.log")" >&2; exit 1; }
peerfs_mount shared --meta "redis://127.0.0.1:$REDIS_PORT/0" --listen "127.0.0.1:$(free_port)" --secret-file "$WORK/secret"
read -r sc ss sr su <<< "$(small "$WORK/mnt-shared/small")"
rs=$(rss "$WORK/mnt-shared")
peerfs_umount shared
for op in create stat read remove; do
  case $op in
    create) l=$lc b=$bc p=$pc q=$sc ;; stat) l=$ls b=$bs p=$ps q=$ss ;;
    read) l=$lr b=$br p=$pr q=$sr ;; remove) l=$lu b=$bu p=$pu q=$su ;;
  esac
  record "small files 16K $op: local" "$l" ops/s
  record "small files 16K $op: bindfs" "$b" ops/s "$l"
  record "small files 16K $op: peerfs scratch" "$p" ops/s "$l" "$b" "$r"
  record "small files 16K $op: peerfs scratch, Redis meta" "$q" ops/s "$l" "$b" "$rs"
done
fi
fusermount -u -z "$WORK/mnt-bindfs"

# ---- cluster: N daemons share a backend limited to RATE MiB/s (blkio throttle on its loop device)
: > "$WORK/cluster.tsv"
if want cluster; then
mkdir -p "$CG"
read -r major minor <<< "$(stat -c '%t %T' "$LOOP")"
echo "cluster  N daemons (127.0.0.1, --peers) each read every file of a $CLUSTER MiB dataset (cat, random order); backend reads limited to RATE MiB/s (${BACKEND_MIBS// /, })" >> "$COMMANDS"
backend_read() {
  "$PEERFS" status --json "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["backend"]["bytesRead"])'
}
for RATE in $BACKEND_MIBS; do
  echo "$((16#$major)):$((16#$minor)) $((RATE << 20))" > "$CG/blkio.throttle.read_bps_device"
  for N in 1 2 4; do
    drop
    t0=$(now)
    for i in $(seq 1 "$N"); do
      ( echo $BASHPID > "$CG/cgroup.procs"; for f in "$BACK"/cluster/*; do dd if="$f" of=/dev/null bs=1M iflag=direct status=none; done ) &
    done
    wait
    direct=$((($(now) - t0) / 1000000))
    ports=()
    for i in $(seq 1 "$N"); do ports+=("127.0.0.1:$(free_port)"); done
    peers=$(IFS=,; echo "${ports[*]}")
    for i in $(seq 1 "$N"); do
      ( echo $BASHPID > "$CG/cgroup.procs"
        peerfs_mount "c$N-$i" --listen "${ports[$((i - 1))]}" --peers "$peers" --secret-file "$WORK/secret" )
    done
    # as for the cold rows: the daemons' JIT compiles the read and peer paths on an unrelated file first
    for i in $(seq 1 "$N"); do cat "$WORK/mnt-c$N-$i/warmup/w" > /dev/null & done
    wait
    declare -A before=()
    for i in $(seq 1 "$N"); do before[$i]=$(backend_read "$WORK/mnt-c$N-$i"); done
    drop
    t0=$(now)
    for i in $(seq 1 "$N"); do
      ( for f in $(ls "$WORK/mnt-c$N-$i/cluster" | shuf); do cat "$WORK/mnt-c$N-$i/cluster/$f" > /dev/null; done ) &
    done
    wait
    wall=$((($(now) - t0) / 1000000))
    total=0 maxrss=0
    for i in $(seq 1 "$N"); do
      b=$(($(backend_read "$WORK/mnt-c$N-$i") - before[$i]))
      total=$((total + b))
      r=$(rss "$WORK/mnt-c$N-$i"); [ "$r" -gt "$maxrss" ] && maxrss=$r
      peerfs_umount "c$N-$i"
    done
    printf 'cluster N=%d, %d MiB/s link\t%d\t%d\t%d\t%d\n' "$N" "$RATE" "$wall" "$direct" "$((total >> 20))" "$maxrss" \
      >> "$WORK/cluster.tsv"
  done
done
fi

# ---- the table
python3 - "$RESULTS" "$WORK/cluster.tsv" "$CLUSTER" "${MOUNT_READY_MS[*]}" <<'EOF'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
print(f"{'row':<52} {'value':>9} {'unit':<6} {'vs local':>8} {'vs bindfs':>9} {'RSS MiB':>7} {'vs backend':>10}")
def ratio(v, r):
    return f"{float(v) / float(r):.2f}x" if r not in ("-", "", "0") and v not in ("-", "") else "-"
for name, v, unit, loc, bnd, rss, back in rows:
    print(f"{name:<52} {v:>9} {unit:<6} {ratio(v, loc):>8} {ratio(v, bnd):>9} {rss:>7} {ratio(v, back):>10}")
print()
print(f"{'cluster (' + sys.argv[3] + ' MiB dataset, each node reads all)':<52} {'wall s':>8} {'direct s':>9} {'backend MiB':>12} {'x dataset':>9} {'max RSS':>8}")
first = None
for l in open(sys.argv[2]):
    name, wall, direct, back, rss = l.rstrip("\n").split("\t")
    if name.startswith("cluster N=1,"):
        first = int(wall)
    print(f"{name:<52} {int(wall)/1000:>8.2f} {int(direct)/1000:>9.2f} {back:>12} {int(back)/int(sys.argv[3]):>9.2f} {rss:>8}"
          f"   (wall vs N=1: {int(wall)/first:.2f}x)")
ready = [int(x) for x in sys.argv[4].split()]
if ready:
    print()
    print(f"mount ready (peerfs mount returns): median {sorted(ready)[len(ready)//2]} ms, max {max(ready)} ms over {len(ready)} mounts")
EOF
if [ -s "$ROUNDS_LOG" ]; then
  echo
  echo "the readings behind the medians:"
  cat "$ROUNDS_LOG"
fi
echo
echo "fio and other commands (DIR: the directory of the row):"
cat "$COMMANDS"
