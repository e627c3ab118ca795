"""Medians of interleaved serving runs (knobs.sh, versions.sh): medians.py OUT.json ROW [ROW ...], each ROW a JSON
object {"variant", "run", "result": LoadGen's line}. Writes the rows to OUT.json and prints a table per variant and
concurrency."""
import json
import statistics
import sys

out, rows = sys.argv[1], [json.loads(r) for r in sys.argv[2:]]
json.dump(rows, open(out, "w"), indent=1)
print(f"{'variant':24} {'c':>3} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}   req/s of each run")
for variant in dict.fromkeys(r["variant"] for r in rows):
    for c in sorted({r["result"]["concurrency"] for r in rows}):
        rs = [r["result"] for r in rows if r["variant"] == variant and r["result"]["concurrency"] == c]
        med = lambda k: statistics.median(x[k] for x in rs)
        print(f"{variant:24} {c:3} {med('requestsPerSecond'):8.1f} {med('p50Ms'):8.1f} {med('p99Ms'):8.1f}   {[x['requestsPerSecond'] for x in rs]}")
