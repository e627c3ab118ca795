"""Summarises the training benchmark's JSON lines (bench/training/run.sh) into one JSON document, or prints its table.

    summarize.py LINES.jsonl DATA_DIR > training.json
    summarize.py --table training.json
"""
import json
import os
import platform
import statistics
import sys

GATES = {"lstm": 4, "gru": 3}


def training_flops_per_step(spec):
    """Multiply-add FLOPs of one training step of a fixed-length workload: the recurrent layers' matrix products,
    forward once and backward twice (gradients of inputs and of weights); the head and the pointwise work are left out."""
    directions = 2 if spec["bidirectional"] else 1
    width = spec["embedding"] or spec["features"]
    forward = 0
    for _ in range(spec["layers"]):
        forward += directions * 2 * GATES[spec["cell"]] * spec["hidden"] * (width + spec["hidden"])
        width = directions * spec["hidden"]
    return 3 * forward * spec["batch"] * spec["max_steps"]


def summarize(lines_path, data_dir):
    rows = [json.loads(line) for line in open(lines_path) if line.strip()]
    matmul = next(r for r in rows if "gflops" in r)
    rows = [r for r in rows if "workload" in r]
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")),
               platform.processor())
    workloads = []
    for name in sorted({r["workload"] for r in rows}):
        spec = json.load(open(os.path.join(data_dir, name, "workload.json")))
        sides = {}
        for side in sorted({r["side"] for r in rows if r["workload"] == name}):
            runs = [r for r in rows if r["workload"] == name and r["side"] == side]
            losses = [r["validationLoss"] for r in runs]
            sides[side] = {
                "msPerStep": statistics.median(r["msPerStep"] for r in runs),
                "sequencesPerSecond": statistics.median(r["sequencesPerSecond"] for r in runs),
                "validationLoss": statistics.median(losses),
                "validationLossSpread": round(max(losses) - min(losses), 5),
                "msPerStepRuns": [r["msPerStep"] for r in runs],
                "validationLossRuns": losses,
            }
        ours = sides.pop("rnnservice")
        peers = {side: dict(values, ratio=round(values["msPerStep"] / ours["msPerStep"], 2)) for side, values in sides.items()}
        fastest = min(peers, key=lambda side: peers[side]["msPerStep"])
        noise = max(ours["validationLossSpread"], peers[fastest]["validationLossSpread"])
        entry = {
            "workload": name, "spec": spec, "rnnservice": ours, "peers": peers,
            "ratioToFastestPeer": peers[fastest]["ratio"], "fastestPeer": fastest,
            "validationLossDifference": round(ours["validationLoss"] - peers[fastest]["validationLoss"], 5),
            "validationLossNoise": noise,
            "validationLossWithinNoise": abs(ours["validationLoss"] - peers[fastest]["validationLoss"]) <= noise,
        }
        if spec["min_steps"] == spec["max_steps"]:
            flops = training_flops_per_step(spec)
            entry["gflopsPerStep"] = round(flops / 1e9, 3)
            entry["rnnserviceGflops"] = round(flops / ours["msPerStep"] / 1e6, 1)
            entry["peerGflops"] = round(flops / peers[fastest]["msPerStep"] / 1e6, 1)
            entry["fractionOfMatmulRate"] = round(entry["rnnserviceGflops"] / matmul["gflops"], 3)
        workloads.append(entry)
    device = matmul.get("device", "cpu")
    if device == "cuda":
        import torch
        cpu += f"; GPU {torch.cuda.get_device_name(0)}"
    return {"machine": f"{os.cpu_count()} cores, {cpu}", "device": device, "threads": matmul["threads"],
            "runs": len([r for r in rows if r["side"] == "rnnservice"]) // max(1, len(workloads)),
            "engine": next(r["engine"] for r in rows if r["side"] == "rnnservice"),
            "peerEngine": next(r["engine"] for r in rows if r["side"] != "rnnservice"),
            "matmulGflops": matmul["gflops"], "workloads": workloads}


def table(path):
    data = json.load(open(path))
    print(f"\n{data['machine']}; {data['threads']} threads; {data['engine']} vs {data['peerEngine']}; "
          f"median of {data['runs']} runs; on {data.get('device', 'cpu')}; float32 matmul ceiling {data['matmulGflops']} GFLOP/s")
    print(f"{'workload':16} {'side':16} {'ms/step':>9} {'seq/s':>8} {'val loss':>9} {'ratio':>6}")
    for w in data["workloads"]:
        ours = w["rnnservice"]
        print(f"{w['workload']:16} {'rnnservice':16} {ours['msPerStep']:9} {ours['sequencesPerSecond']:8} "
              f"{ours['validationLoss']:9}")
        for side, peer in w["peers"].items():
            print(f"{'':16} {side:16} {peer['msPerStep']:9} {peer['sequencesPerSecond']:8} "
                  f"{peer['validationLoss']:9} {peer['ratio']:5}x")
        line = (f"{'':16} ratio to the fastest peer {w['ratioToFastestPeer']}x; validation loss difference "
                f"{w['validationLossDifference']} (noise {w['validationLossNoise']}, within: {w['validationLossWithinNoise']})")
        print(line)
        if "rnnserviceGflops" in w:
            print(f"{'':16} {w['rnnserviceGflops']} GFLOP/s = {100 * w['fractionOfMatmulRate']:.0f}% of the matmul rate "
                  f"(peer {w['peerGflops']} GFLOP/s)")


if __name__ == "__main__":
    if sys.argv[1] == "--table":
        table(sys.argv[2])
    else:
        json.dump(summarize(sys.argv[1], sys.argv[2]), sys.stdout, indent=1)
