"""Compares a benchmark's new figures with the last recorded ones and names every regression.

    compare.py NEW.json RECORDED.json [--tolerance 0.15]    exit 1 when RnnService got slower by more than the tolerance
    compare.py --record NEW.json RECORDED.json               makes the new figures the recorded ones

Reads the documents that bench/training/run.sh and bench/serving/run.sh write. Only RnnService's own figures count as
regressions (the peers are context). A throughput (sequences or requests per second) counts only when its ratio to the
peer, measured on the same machine at the same time, fell too: the machine's own speed moves by more than the
tolerance between sessions (the training document's sgemm rate, printed, shows by how much), and a drop the peer
shared is the machine's. Ratios and p99 latencies always count.
"""
import json
import shutil
import sys


def figures(data):
    """(name, value, higher_is_better, ratio) of RnnService's figures in a training or serving document; ratio names the
    figure that measures a throughput against the peer (None for the ratios themselves and for latencies)."""
    if "workloads" in data:
        for w in data["workloads"]:
            ratio = f"training {w['workload']} ratio to the fastest peer"
            yield f"training {w['workload']} sequences/s", w["rnnservice"]["sequencesPerSecond"], True, ratio
            yield ratio, w["ratioToFastestPeer"], True, None
    for c, ratios in data.get("ratioToPeer", {}).items():
        yield f"serving c={c} ratio to the peer", ratios["requestsPerSecond"], True, None
    for p in data.get("points", []):
        if p.get("server", "rnnservice") != "rnnservice" or not p.get("batching", True):
            continue
        c = p["result"]["concurrency"]
        yield f"serving c={c} requests/s", p["result"]["requestsPerSecond"], True, f"serving c={c} ratio to the peer"
        yield f"serving c={c} p99 ms", p["result"]["p99Ms"], False, None


def main(args):
    if args[0] == "--record":
        shutil.copyfile(args[1], args[2])
        print(f"recorded {args[1]} as {args[2]}")
        return 0
    new_path, old_path = args[0], args[1]
    tolerance = float(args[args.index("--tolerance") + 1]) if "--tolerance" in args else 0.15
    try:
        old = json.load(open(old_path))
    except FileNotFoundError:
        print(f"compare: nothing recorded at {old_path} yet (record with: bench/compare.py --record {new_path} {old_path})")
        return 0
    new = json.load(open(new_path))
    if new.get("machine") != old.get("machine"):
        print(f"compare: recorded on another machine ({old.get('machine')}); differences may be the machine's")
    if old.get("matmulGflops") and new.get("matmulGflops"):
        moved = new["matmulGflops"] / old["matmulGflops"] - 1
        print(f"compare: the machine's sgemm rate {old['matmulGflops']} then, {new['matmulGflops']} now ({100 * moved:+.1f}%)")
    before = {name: value for name, value, _, _ in figures(old)}
    now = {name: value for name, value, _, _ in figures(new)}

    def worse(name, higher_is_better):
        change = (now[name] - before[name]) / before[name] if before[name] else 0.0
        return change, (-change if higher_is_better else change) > tolerance

    regressions = 0
    print(f"{'figure':48} {'recorded':>10} {'now':>10} {'change':>8}")
    for name, value, higher_is_better, ratio in figures(new):
        if name not in before:
            continue
        change, fell = worse(name, higher_is_better)
        flag = "  REGRESSION" if fell else ""
        if fell and ratio in before and ratio in now and not worse(ratio, True)[1]:
            flag = "  (its ratio to the peer held: the machine)"
        regressions += flag == "  REGRESSION"
        print(f"{name:48} {before[name]:10} {value:10} {100 * change:+7.1f}%{flag}")
    print(f"compare: {regressions} regression(s) beyond {100 * tolerance:.0f}%")
    return 1 if regressions else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
