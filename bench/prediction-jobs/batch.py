"""Forecasting every series of a large stored dataset: one prediction job against a client doing it through /predict.

Writes a CSV of SERIES daily series of DAYS steps each (weekly season, trend, noise; seeded), uploads it, trains the
default forecaster (horizon 14, quantiles 0.1/0.5/0.9) on its first 20 series, then
  - job: POST /prediction-jobs over the whole dataset, timed from submission until it has succeeded, and its results
    downloaded and counted;
  - client: the same forecasts through POST /predict, 100 series' last windows a request (what a client without
    prediction jobs does), its answers checked against the job's.
Usage: batch.py BASE WORK OUT.json SERIES DAYS"""
import csv
import datetime
import io
import json
import math
import random
import sys
import time
import urllib.request

sys.path.insert(0, "bench/real-data")
from service_api import Service  # noqa: E402

base, work, out, series_count, days = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
service = Service(base)
horizon, quantiles = 14, [0.1, 0.5, 0.9]


def write(path, count):
    rng = random.Random(7)
    start = datetime.date(2020, 1, 1)
    dates = [(start + datetime.timedelta(days=d)).isoformat() for d in range(days)]
    with open(path, "w") as f:
        f.write("series,day,sales\n")
        for s in range(count):
            level, trend, amplitude = rng.uniform(50, 500), rng.uniform(-0.05, 0.2), rng.uniform(5, 40)
            for d in range(days):
                value = level + trend * d + amplitude * math.sin(2 * math.pi * (d % 7) / 7) + rng.gauss(0, amplitude / 5)
                f.write(f"s{s:05d},{dates[d]},{value:.2f}\n")


def text(path):
    with urllib.request.urlopen(base + path) as response:
        return response.read().decode()


full, small = f"{work}/sales.csv", f"{work}/sales-20.csv"
write(full, series_count)
write(small, 20)
started = time.perf_counter()
dataset = service.upload(full)
upload_seconds = time.perf_counter() - started
print(f"dataset: {dataset['rows']:,} rows, {dataset['series']:,} series, uploaded and parsed in {upload_seconds:.1f} s")

started = time.perf_counter()
job = service.train(service.upload(small), "sales", {"kind": "forecast", "horizon": horizon, "quantiles": quantiles})
assert job["state"] == "succeeded", job
print(f"trained on 20 series in {time.perf_counter() - started:.1f} s: version {job['model']['version']}, "
      f"input length {job['request']['task']['inputLength']}")

started = time.perf_counter()
prediction = service.call("POST", "/prediction-jobs", json.dumps({"model": "sales", "datasetId": dataset["id"]}).encode())
while prediction["state"] in ("queued", "running"):
    time.sleep(0.25)
    prediction = service.call("GET", f"/prediction-jobs/{prediction['id']}")
job_seconds = time.perf_counter() - started
assert prediction["state"] == "succeeded", prediction
started = time.perf_counter()
results = list(csv.DictReader(io.StringIO(text(prediction["results"]))))
download_seconds = time.perf_counter() - started
worked = (datetime.datetime.fromisoformat(prediction["finishedAt"]) - datetime.datetime.fromisoformat(prediction["startedAt"])).total_seconds()
assert len(results) == series_count * horizon, len(results)
print(f"prediction job: {len(results):,} rows ({series_count:,} series × {horizon} steps, 3 quantiles) in {job_seconds:.1f} s "
      f"from submission ({worked:.1f} s on the worker, parsing the dataset included); results downloaded in {download_seconds:.2f} s")

# The same through /predict: each series' last window re-sent by the client, 100 series a request.
window = job["request"]["task"]["inputLength"]
history = {}
with open(full) as f:
    reader = csv.reader(f)
    next(reader)
    for name, day, value in reader:
        history.setdefault(name, []).append((day, float(value)))
names = sorted(history)
started = time.perf_counter()
answers = {}
for i in range(0, len(names), 100):
    chunk = names[i:i + 100]
    body = {"model": f"sales:{job['model']['version']}",
            "inputs": [[v for _, v in history[n][-window:]] for n in chunk],
            "starts": [history[n][-window][0] for n in chunk]}
    response = service.call("POST", "/predict", json.dumps(body).encode())
    for name, output in zip(chunk, response["outputs"]):
        answers[name] = output["forecast"]
client_seconds = time.perf_counter() - started
worst = max(abs(float(r["forecast"]) - answers[r["series"]][int(r["step"]) - 1][0]) for r in results)
print(f"client through /predict: {series_count:,} series in {client_seconds:.1f} s (100 a request, not counting reading "
      f"the CSV); largest difference from the job's forecasts {worst:.2e}")

with open(out, "w") as f:
    json.dump({"rows": dataset["rows"], "series": series_count, "horizon": horizon, "uploadSeconds": upload_seconds,
               "jobSeconds": job_seconds, "workerSeconds": worked, "resultRows": len(results),
               "downloadSeconds": download_seconds, "clientSeconds": client_seconds, "largestDifference": worst}, f, indent=2)
