#!/usr/bin/env python3
"""The smoke test's client: through the API of a running stack, upload 1949-1959 of the airline passengers, train a
forecaster on the worker, forecast 1960 from the last 24 months and check it against what really happened.

    python3 deploy/smoke_client.py http://127.0.0.1:18080

Prints one line per step with its time; exits 1 when any answer is wrong. Standard library only."""
import json
import sys
import time
import urllib.error
import urllib.request

PASSENGERS = [
    112, 118, 132, 129, 121, 135, 148, 148, 136, 119, 104, 118, 115, 126, 141, 135, 125, 149, 170, 170, 158, 133, 114, 140,
    145, 150, 178, 163, 172, 178, 199, 199, 184, 162, 146, 166, 171, 180, 193, 181, 183, 218, 230, 242, 209, 191, 172, 194,
    196, 196, 236, 235, 229, 243, 264, 272, 237, 211, 180, 201, 204, 188, 235, 227, 234, 264, 302, 293, 259, 229, 203, 229,
    242, 233, 267, 269, 270, 315, 364, 347, 312, 274, 237, 278, 284, 277, 317, 313, 318, 374, 413, 405, 355, 306, 271, 306,
    315, 301, 356, 348, 355, 422, 465, 467, 404, 347, 305, 336, 340, 318, 362, 348, 363, 435, 491, 505, 404, 359, 310, 337,
    360, 342, 406, 396, 420, 472, 548, 559, 463, 407, 362, 405, 417, 391, 419, 461, 472, 535, 622, 606, 508, 461, 390, 432,
]
TRAIN, ACTUAL_1960 = PASSENGERS[:132], PASSENGERS[132:]


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


def main(base):
    started = time.monotonic()
    csv = "month,passengers\n" + "".join(f"{1949 + i // 12}-{i % 12 + 1:02d},{v}\n" for i, v in enumerate(TRAIN))
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
    status, answer = call(base, "POST", "/predict", {"model": "smoke-air", "inputs": [TRAIN[-24:]]})
    check(status == 200, f"predict answered {status}: {answer}")
    forecast = [step_values[0] for step_values in answer["outputs"][0]["forecast"]]
    check(len(forecast) == 12, f"expected 12 months, got {len(forecast)}")
    smape = 100 / 12 * sum(abs(f - a) / ((abs(f) + abs(a)) / 2) for f, a in zip(forecast, ACTUAL_1960))
    naive = 100 / 12 * sum(abs(f - a) / ((abs(f) + abs(a)) / 2) for f, a in zip(TRAIN[-12:], ACTUAL_1960))
    step(f"forecast 1960: {', '.join(f'{v:.0f}' for v in forecast)}", started)
    print(f"smoke: 1960 as it happened: {', '.join(map(str, ACTUAL_1960))}")
    print(f"smoke: sMAPE {smape:.2f}% against 1960; the seasonal naive forecast (1959 again) scores {naive:.2f}%")
    check(smape < 15, f"the forecast of 1960 is off by {smape:.1f}% sMAPE")
    check(smape < naive, "the model does no better than repeating 1959")

    status, versions = call(base, "GET", "/models/smoke-air")
    check(status == 200 and len(versions["versions"]) == 1, f"model listing: {versions}")


if __name__ == "__main__":
    main(sys.argv[1].rstrip("/") if len(sys.argv) > 1 else "http://127.0.0.1:8080")
