"""Compares a benchmark's new figures with the last recorded ones and names every regression.

    compare.py NEW.json RECORDED.json [--tolerance 0.15]    exit 1 when RnnService got slower by more than the tolerance
    compare.py --record NEW.json RECORDED.json               makes the new figures the recorded ones

Reads the documents that bench/training/run.sh and bench/serving/run.sh write. Only RnnService's own figures count as
regressions (the peers are context); the figures of a different machine are compared but flagged.
"""
import json
import shutil
import sys


def figures(data):
    """(name, value, higher_is_better) of RnnService's figures in a training or serving document."""
    if "workloads" in data:
        for w in data["workloads"]:
            yield f"training {w['workload']} sequences/s", w["rnnservice"]["sequencesPerSecond"], True
            yield f"training {w['workload']} ratio to the fastest peer", w["ratioToFastestPeer"], True
    for p in data.get("points", []):
        if p.get("server", "rnnservice") != "rnnservice" or not p.get("batching", True):
            continue
        c = p["result"]["concurrency"]
        yield f"serving c={c} requests/s", p["result"]["requestsPerSecond"], True
        yield f"serving c={c} p99 ms", p["result"]["p99Ms"], False


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
    before = {name: (value, better) for name, value, better in figures(old)}
    regressions = 0
    print(f"{'figure':48} {'recorded':>10} {'now':>10} {'change':>8}")
    for name, value, higher_is_better in figures(new):
        if name not in before:
            continue
        old_value = before[name][0]
        change = (value - old_value) / old_value if old_value else 0.0
        worse = -change if higher_is_better else change
        flag = "  REGRESSION" if worse > tolerance else ""
        regressions += bool(flag)
        print(f"{name:48} {old_value:10} {value:10} {100 * change:+7.1f}%{flag}")
    print(f"compare: {regressions} regression(s) beyond {100 * tolerance:.0f}%")
    return 1 if regressions else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
