"""Trains RnnService on real public datasets through its HTTP API, as a new user would, and compares each job's
validation metrics with the naive baseline the service reports beside them.

Usage: python3 run.py BASE_URL DATA_DIR RESULTS_JSON
"""
import json
import sys
import time

from service_api import Service

base, data, results_path = sys.argv[1], sys.argv[2], sys.argv[3]


service = Service(base)


# Only what a user must say: the task, and for monthly series the horizon (a year) and the season of the baseline.
# Model and training settings are the service's defaults.
forecasts = [
    ("air-passengers.csv", "AirPassengers: monthly airline passengers 1949-1960 (R datasets)"),
    ("co2.csv", "co2: monthly Mauna Loa CO2 concentration 1959-1997 (R datasets)"),
    ("nottingham-temperature.csv", "nottem: monthly Nottingham air temperature 1920-1939 (R datasets)"),
    ("uk-driver-deaths.csv", "UKDriverDeaths: monthly UK car drivers killed or seriously injured 1969-1984 (R datasets)"),
]
results = []
for file_name, source in forecasts:
    dataset = service.upload(f"{data}/{file_name}")
    started = time.time()
    job = service.train(dataset, file_name.removesuffix(".csv"), {"kind": "forecast", "horizon": 12, "season": 12})
    metrics = job.get("metrics") or {}
    results.append({"dataset": file_name, "source": source, "task": "forecast", "state": job["state"], "error": job.get("error"),
                    "epochs": job["progress"]["epoch"] if job.get("progress") else 0, "seconds": round(time.time() - started, 1),
                    "request": job["request"], "metrics": metrics,
                    "beatsBaseline": metrics.get("smape", 1e9) < metrics.get("naiveSmape", 0)})
    print(f"{file_name:30} {job['state']:9} epochs {results[-1]['epochs']:3}  sMAPE {metrics.get('smape', float('nan')):6.2f}%"
          f"  seasonal naive {metrics.get('naiveSmape', float('nan')):6.2f}%  MASE {metrics.get('mase', float('nan')):.3f}"
          f"  ({results[-1]['seconds']} s)", flush=True)

dataset = service.upload(f"{data}/digits.jsonl")
started = time.time()
job = service.train(dataset, "digits", {"kind": "classification"})
metrics = job.get("metrics") or {}
results.append({"dataset": "digits.jsonl", "task": "classification", "state": job["state"], "error": job.get("error"),
                "source": "scikit-learn's bundled UCI handwritten digits, 1,797 images read row by row (8 steps x 8 pixels)",
                "epochs": job["progress"]["epoch"] if job.get("progress") else 0, "seconds": round(time.time() - started, 1),
                "request": job["request"], "metrics": metrics,
                "beatsBaseline": metrics.get("accuracy", 0) > metrics.get("majorityAccuracy", 1)})
print(f"{'digits.jsonl':30} {job['state']:9} epochs {results[-1]['epochs']:3}  accuracy {metrics.get('accuracy', float('nan')):.3f}"
      f"  majority class {metrics.get('majorityAccuracy', float('nan')):.3f}  macro F1 {metrics.get('macroF1', float('nan')):.3f}"
      f"  ({results[-1]['seconds']} s)", flush=True)

with open(results_path, "w") as f:
    json.dump(results, f, indent=2)
sys.exit(0 if all(r["state"] == "succeeded" and r["beatsBaseline"] for r in results) else 1)
