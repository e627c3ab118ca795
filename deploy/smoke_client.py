#!/usr/bin/env python3
"""The smoke test's client: through the API of a running stack, upload 1949-1959 of the airline passengers (taken
from the service's own OpenAPI example), train a forecaster on the worker, forecast 1960 from the last 24 months and
check it against what really happened.

    python3 deploy/smoke_client.py http://127.0.0.1:18080

Prints one line per step with its time; exits 1 when any answer is wrong. Standard library only."""
import json
import sys
import time
import urllib.error
import urllib.request



def call(base, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def check(condition, message):
    if not condition:
        print(f"smoke: FAILED: {message}", flush=True)
        sys.exit(1)


def step(name, started):
    print(f"smoke: {name} ({time.monotonic() - started:.1f} s)", flush=True)


def passengers(base):
    """The monthly passengers of 1949-1960, from the example that Swagger UI offers for POST /datasets."""
    status, document = call(base, "GET", "/openapi/v1.json")
    check(status == 200, f"the OpenAPI document answered {status}")
    example = document["paths"]["/datasets"]["post"]["requestBody"]["content"]["application/json"]["example"]
    rows = example["content"].strip().splitlines()[1:]
    check(len(rows) == 144, f"the dataset example has {len(rows)} months, not 144")
    return [float(row.split(",")[1]) for row in rows]


def main(base):
    started = time.monotonic()
    months = passengers(base)
    train, actual = months[:132], months[132:]
    csv = "month,passengers\n" + "".join(f"{1949 + i // 12}-{i % 12 + 1:02d},{v:g}\n" for i, v in enumerate(train))
    status, dataset = call(base, "POST", "/datasets", {"name": "air-1949-1959", "format": "csv", "content": csv})
    check(status == 201, f"upload answered {status}: {dataset}")
    check(dataset["kind"] == "timeSeries", f"the upload was read as {dataset['kind']}")
    step(f"uploaded 132 months as {dataset['id']}", started)

    started = time.monotonic()
    status, job = call(base, "POST", "/training-jobs", {
        "datasetId": dataset["id"], "modelName": "smoke-air",
        "task": {"kind": "forecast", "horizon": 12, "inputLength": 24, "season": 12},
        "training": {"seed": 7},
    })
    check(status == 202, f"training job answered {status}: {job}")
    deadline = time.monotonic() + 600
    while job["state"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(1)
        status, job = call(base, "GET", f"/training-jobs/{job['id']}")
        check(status == 200, f"job status answered {status}: {job}")
    check(job["state"] == "succeeded", f"job ended {job['state']}: {job.get('error')}")
    metrics = job.get("metrics") or {}
    step(f"trained {job['id']} on the worker: {len(job['history'])} epochs on {job.get('device')}, "
         f"validation sMAPE {metrics.get('smape', float('nan')):.2f}% (seasonal naive {metrics.get('naiveSmape', float('nan')):.2f}%), "
         f"model {job['model']['name']} v{job['model']['version']}", started)

    started = time.monotonic()
    # The months are dated, so the model reads the month of year: the window says when it starts (January 1958).
    status, answer = call(base, "POST", "/predict", {"model": "smoke-air", "inputs": [train[-24:]], "starts": ["1958-01"]})
    check(status == 200, f"predict answered {status}: {answer}")
    forecast = [step_values[0] for step_values in answer["outputs"][0]["forecast"]]
    check(len(forecast) == 12, f"expected 12 months, got {len(forecast)}")
    smape = 100 / 12 * sum(abs(f - a) / ((abs(f) + abs(a)) / 2) for f, a in zip(forecast, actual))
    naive = 100 / 12 * sum(abs(f - a) / ((abs(f) + abs(a)) / 2) for f, a in zip(train[-12:], actual))
    step(f"forecast 1960: {', '.join(f'{v:.0f}' for v in forecast)}", started)
    print(f"smoke: 1960 as it happened: {', '.join(f'{v:g}' for v in actual)}")
    print(f"smoke: sMAPE {smape:.2f}% against 1960; the seasonal naive forecast (1959 again) scores {naive:.2f}%")
    check(smape < 15, f"the forecast of 1960 is off by {smape:.1f}% sMAPE")
    check(smape < naive, "the model does no better than repeating 1959")

    status, versions = call(base, "GET", "/models/smoke-air")
    check(status == 200 and len(versions["versions"]) == 1, f"model listing: {versions}")


if __name__ == "__main__":
    main(sys.argv[1].rstrip("/") if len(sys.argv) > 1 else "http://127.0.0.1:8080")
