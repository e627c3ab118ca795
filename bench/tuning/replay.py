"""Replays asha with other grace periods on the per-epoch histories of searches run without early stopping.

tune.py records each trial's validation metric per epoch (`trials` of each mode in its results). Trials are replayed
in number order, each meeting at a rung the trials before it that reached that rung (with two at a time, as the
benchmark runs them, that is what the live rule sees but for the one trial running beside it); a stopped trial keeps
its best value up to its stop. At grace period 1 this gives the live runs' epoch counts.

Usage: python3 replay.py RESULTS_JSON [GRACE,...]      (default grace periods 1,2,3,4,5,9)
"""
import json
import sys

import numpy as np

ETA = 3


def best_upto(values, epoch, higher):
    seen = [v for v in values[:epoch] if v is not None]
    return None if not seen else (-max(seen) if higher else min(seen))


def replay(trials, higher, grace):
    """Total epochs and the best trial (number, value) when asha with this grace period stops trials."""
    reached, ended = [], []
    for trial in sorted(trials, key=lambda t: t["number"]):
        values, stop = trial["values"], len(trial["values"])
        rung = grace
        while rung < len(values):
            mine = best_upto(values, rung, higher)
            theirs = [s for s in (best_upto(o, rung, higher) for o in reached if len(o) >= rung) if s is not None]
            if mine is not None and len(theirs) >= 2 and mine > np.quantile(sorted(theirs + [mine]), 1 / ETA):
                stop = rung
                break
            rung *= ETA
        reached.append(values[:stop])
        ended.append((trial["number"], stop, best_upto(values, stop, higher)))
    number, _, score = min((e for e in ended if e[2] is not None), key=lambda e: (e[2], e[0]))
    return sum(e[1] for e in ended), number, -score if higher else score


graces = [int(g) for g in (sys.argv[2] if len(sys.argv) > 2 else "1,2,3,4,5,9").split(",")]
loaded = json.load(open(sys.argv[1]))
for result in loaded["results"] if isinstance(loaded, dict) else loaded:
    run = result.get("none")
    if not run or "trials" not in run:
        continue
    higher = result["better"] == "higher"
    full = sum(len(t["values"]) for t in run["trials"])
    _, number, value = replay(run["trials"], higher, 10**9)
    print(f"{result['dataset']}: {full} epochs to the end, best trial {number} ({value:.4f})")
    for grace in graces:
        epochs, number, value = replay(run["trials"], higher, grace)
        print(f"  grace {grace}: {epochs} epochs ({full / epochs:.1f}x fewer), best trial {number} ({value:.4f})")
