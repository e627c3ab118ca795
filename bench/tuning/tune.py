"""Tuning jobs against the defaults, on real data, through RnnService's HTTP API.

For each dataset: one job with the defaults; a tuning job with the task's default search space, MAX_TRIALS trials
(default 20), two at a time, asha early stopping; and the same search with no early stopping. Each is scored on data
that nothing was chosen by: the forecast series' last 12 months (never uploaded; the service's validation split is
inside the rest), the sequence corpora's test files. Timed from submission to the end.

Usage: python3 tune.py BASE_URL DATA_DIR RESULTS_JSON   (env: ONLY=name,..., MAX_TRIALS, MODES=asha,none, STRATEGY=random|tpe, SPACE=JSON)
"""
import csv
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "real-data"))
from service_api import Service  # noqa: E402

base, data, results_path = sys.argv[1], sys.argv[2], sys.argv[3]
service = Service(base)
ONLY = [s for s in os.environ.get("ONLY", "").split(",") if s]
MAX_TRIALS = int(os.environ.get("MAX_TRIALS", "20"))
MODES = [m for m in os.environ.get("MODES", "asha,none").split(",") if m]
# The strategy, and a search space instead of the default one when SPACE is set: sent with each search and recorded.
SEARCH = {"strategy": os.environ.get("STRATEGY", "random")} | ({"space": json.loads(os.environ["SPACE"])} if os.environ.get("SPACE") else {})
HORIZON, SEASON = 12, 12
SERIES = ["air-passengers", "co2", "nottingham-temperature", "uk-driver-deaths", "uk-lung-deaths", "us-accidental-deaths"]
CORPORA = {"digits": "inputs", "dna": "inputs", "austen": "texts", "fortunes": "texts"}


def forecast_score(name):
    """MASE on the last 12 months of a forecast trained on the months before them."""
    with open(os.path.join(data, "series", f"{name}.csv")) as f:
        rows = list(csv.DictReader(f))
    months, values = [r["month"] for r in rows], np.array([float(r["value"]) for r in rows])
    cut = len(values) - HORIZON
    path = os.path.join(data, f"{name}-history.csv")
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["month", "value"])
        writer.writerows(zip(months[:cut], values[:cut]))
    dataset = service.upload(path)
    history, actual = values[:cut], values[cut:]
    scale = np.mean(np.abs(history[SEASON:] - history[:-SEASON]))

    def score(model, request):
        task = request["task"]
        length = task["inputLength"]
        extra = {"starts": [months[cut - length]]} if task.get("calendarFeatures") == "auto" else {}
        output = service.predict(model, "inputs", [[float(v) for v in history[-length:]]], **extra)[0]
        return float(np.mean(np.abs(actual - np.array([s[0] for s in output["forecast"]]))) / scale)

    return dataset, {"kind": "forecast", "horizon": HORIZON}, score, "mase", "lower"


def corpus_score(name):
    """Accuracy on the corpus's test file."""
    field = CORPORA[name]
    dataset = service.upload(os.path.join(data, f"{name}.train.jsonl"))
    with open(os.path.join(data, f"{name}.test.jsonl")) as f:
        test = [json.loads(line) for line in f]
    items = [t["text"] if field == "texts" else t["sequence"] for t in test]
    labels = [t["label"] for t in test]

    def score(model, request):
        outputs = service.predict(model, field, items)
        return float(np.mean([o["label"] == label for o, label in zip(outputs, labels)]))

    return dataset, {"kind": "classification"}, score, "accuracy", "higher"


def trial_history(trial, metric):
    """A trial's parameters, how it ended and its value of the metric at each epoch (validationLoss from the loss)."""
    job = service.call("GET", f"/training-jobs/{trial['jobId']}")
    values = [e["validationLoss"] if metric == "validationLoss" else (e.get("metrics") or {}).get(metric) for e in job.get("history") or []]
    return {"number": trial["number"], "parameters": trial.get("parameters"), "state": trial["state"], "stoppedBy": job.get("stoppedBy"),
            "values": values}


results = []
names = [n for n in SERIES + list(CORPORA) if (not ONLY or n in ONLY)]
for name in names:
    if name in SERIES and not os.path.exists(os.path.join(data, "series", f"{name}.csv")):
        continue
    if name in CORPORA and not os.path.exists(os.path.join(data, f"{name}.train.jsonl")):
        continue
    dataset, task, score, metric, better = forecast_score(name) if name in SERIES else corpus_score(name)
    entry = {"dataset": name, "metric": metric, "better": better}
    started = time.time()
    job = service.train(dataset, f"{name}-default", task)
    entry["default"] = {"state": job["state"], "validation": (job.get("metrics") or {}).get(metric), "seconds": round(time.time() - started, 1),
                        "heldOut": score(job["model"]["name"], job["request"]) if job["state"] == "succeeded" else None}
    for mode in MODES:
        started = time.time()
        tuning = service.tune(dataset, f"{name}-tuned-{mode}", task, {"maxTrials": MAX_TRIALS, "maxParallel": 2, "earlyStopping": mode, "seed": 1,
                                                                       **SEARCH})
        seconds = round(time.time() - started, 1)
        best = tuning.get("best")
        held = None
        over = best.get("keptOver") if best else None
        if tuning["state"] == "succeeded":
            trial = service.call("GET", f"/training-jobs/{best['jobId']}")
            held = score(tuning["model"]["name"], trial["request"])
            if over:
                # The one-standard-error rule kept the defaults: the trial that validated best (what selection best returns)
                # is scored too, from its own model (a version of the model named by the search's id).
                beaten = service.call("GET", f"/training-jobs/{over['jobId']}")
                over = {"number": over["number"], "validation": over["metric"], "standardError": over.get("standardError"),
                        "heldOut": score(f"{tuning['id']}:{beaten['model']['version']}", beaten["request"])}
        entry[mode] = {"state": tuning["state"], **SEARCH, "seconds": seconds, "validation": best["metric"] if best else None,
                       "standardError": best.get("standardError") if best else None, "pick": best["number"] if best else None,
                       "keptOver": over, "heldOut": held, "best": best["parameters"] if best else None,
                       "stopped": sum(t["stoppedEarly"] for t in tuning["trials"]),
                       "epochs": sum(t["epochs"] for t in tuning["trials"]), "error": tuning.get("error"),
                       # Each trial's per-epoch validation metric, from which other early-stopping rules can be replayed.
                       "trials": [trial_history(t, metric) for t in tuning["trials"]]}
    results.append(entry)
    print(f"{name:24} default {entry['default']['heldOut']:.3f} ({entry['default']['seconds']} s)  " + "  ".join(
        f"{m}: held-out {entry[m]['heldOut'] if entry[m]['heldOut'] is None else round(entry[m]['heldOut'], 3)}, validation "
        f"{entry[m]['validation'] if entry[m]['validation'] is None else round(entry[m]['validation'], 3)}, trial {entry[m]['pick']}"
        + (f" (kept over trial {entry[m]['keptOver']['number']}: held-out {entry[m]['keptOver']['heldOut']:.3f}, validation "
           f"{entry[m]['keptOver']['validation']:.3f} ± {entry[m]['keptOver']['standardError'] or float('nan'):.3f})" if entry[m]['keptOver'] else "")
        + f", {entry[m]['seconds']} s, "
        f"{entry[m]['epochs']} epochs, {entry[m]['stopped']} stopped" for m in MODES), flush=True)
    with open(results_path, "w") as f:
        json.dump(results, f, indent=2)

print("\n| dataset | metric | default (held-out) | " + " | ".join(f"tuned, {m} (held-out / validation, time, epochs)" for m in MODES) + " |")
print("| --- | --- | --- | " + " | ".join("---" for _ in MODES) + " |")
for e in results:
    print(f"| {e['dataset']} | {e['metric']} | {e['default']['heldOut']:.3f} ({e['default']['seconds']:.0f} s) | " + " | ".join(
        f"{e[m]['heldOut']:.3f} / {e[m]['validation']:.3f} ({e[m]['seconds']:.0f} s, {e[m]['epochs']} epochs, {e[m]['stopped']} stopped)"
        if e[m]['heldOut'] is not None else e[m]['state'] for m in MODES) + " |")
