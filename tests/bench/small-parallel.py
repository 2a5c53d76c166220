# Small files from W processes at once, each in its own directory: create + write 16 KiB +
# close N files each, then stat, read and remove them; prints the rate of each step.
#   python3 tests/bench/small-parallel.py DIR N W
import os, sys, time
from concurrent.futures import ProcessPoolExecutor
d = sys.argv[1]; n = int(sys.argv[2]); w = int(sys.argv[3])
data = os.urandom(16384)
def work(args):
    j, op = args
    sub = f"{d}/w{j}"; os.makedirs(sub, exist_ok=True)
    for i in range(n):
        p = f"{sub}/f{i}"
        if op == "create":
            with open(p, "wb") as f: f.write(data)
        elif op == "stat": os.stat(p)
        elif op == "read":
            with open(p, "rb") as f: f.read()
        else: os.unlink(p)
out = []
with ProcessPoolExecutor(w) as ex:
    for op in ("create", "stat", "read", "unlink"):
        t = time.perf_counter(); list(ex.map(work, [(j, op) for j in range(w)]))
        out.append(f"{op}/s {int(n * w / (time.perf_counter() - t))}")
print(" ".join(out))
