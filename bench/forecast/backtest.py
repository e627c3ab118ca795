"""Rolling-origin backtest of RnnService's default forecaster against statistical baselines, on real monthly series.

For every series and each of ORIGINS cut-offs (the last 36, 24 and 12 months held out in turn), the service trains on the
months before the cut-off through its HTTP API with only {"kind": "forecast", "horizon": 12, "season": 12}, and forecasts
the next 12 months from the months just before the cut-off. The same script fits, on the same months:
seasonal naive (the last year again), statsmodels' exponential smoothing (additive damped trend, multiplicative season:
Holt-Winters, as the issue measured it) and a seasonal ARIMA (the airline model, (0,1,1)(0,1,1)12). Scores: sMAPE (percent)
and MASE (scaled by the in-sample MAE of the seasonal naive forecast on the training months), averaged over the origins.

Usage: python3 backtest.py BASE_URL DATA_DIR RESULTS_JSON
"""
import csv
import json
import os
import sys
import warnings

import numpy as np
from statsmodels.tsa.holtwinters import ExponentialSmoothing
from statsmodels.tsa.statespace.sarimax import SARIMAX

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "real-data"))
from service_api import Service  # noqa: E402

base, data, results_path = sys.argv[1], sys.argv[2], sys.argv[3]
service = Service(base)
HORIZON, SEASON, ORIGINS = 12, 12, [36, 24, 12]
warnings.filterwarnings("ignore")


def smape(actual, forecast):
    return 100 * np.mean(2 * np.abs(actual - forecast) / (np.abs(actual) + np.abs(forecast)))


def mase(actual, forecast, history):
    scale = np.mean(np.abs(history[SEASON:] - history[:-SEASON]))
    return np.mean(np.abs(actual - forecast)) / scale


def ours(name, months, history):
    os.makedirs(os.path.join(data, "cuts"), exist_ok=True)
    path = os.path.join(data, "cuts", f"{name}-{len(history)}.csv")
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["month", "value"])
        writer.writerows(zip(months, history))
    dataset = service.upload(path)
    job = service.train(dataset, f"{name}-{len(history)}", {"kind": "forecast", "horizon": HORIZON, "season": SEASON})
    if job["state"] != "succeeded":
        raise RuntimeError(f"{name}: {job.get('error')}")
    window = history[-job["request"]["task"]["inputLength"]:]
    output = service.predict(job["model"]["name"], "inputs", [[float(v) for v in window]])[0]
    return np.array([step[0] for step in output["forecast"]]), job


def baselines(history):
    naive = np.tile(history[-SEASON:], HORIZON // SEASON + 1)[:HORIZON]
    ets = ExponentialSmoothing(history, trend="add", damped_trend=True, seasonal="mul" if history.min() > 0 else "add",
                               seasonal_periods=SEASON).fit().forecast(HORIZON)
    arima = SARIMAX(history, order=(0, 1, 1), seasonal_order=(0, 1, 1, SEASON)).fit(disp=False).forecast(HORIZON)
    return {"seasonalNaive": naive, "ets": np.asarray(ets), "sarima": np.asarray(arima)}


results = []
for file in sorted(f for f in os.listdir(data) if f.endswith(".csv")):
    name = file[:-4]
    with open(os.path.join(data, file)) as f:
        rows = list(csv.DictReader(f))
    months = [r["month"] for r in rows]
    values = np.array([float(r["value"]) for r in rows])
    scores = {}
    for held in ORIGINS:
        cut = len(values) - held
        history, actual = values[:cut], values[cut:cut + HORIZON]
        forecasts = baselines(history)
        forecasts["rnnService"], job = ours(name, months[:cut], history)
        for method, forecast in forecasts.items():
            scores.setdefault(method, []).append((smape(actual, forecast), mase(actual, forecast, history)))
    entry = {"series": name, "length": len(values),
             **{m: {"smape": float(np.mean([s for s, _ in v])), "mase": float(np.mean([q for _, q in v]))} for m, v in scores.items()}}
    results.append(entry)
    print(f"{name:24} {len(values):4} months  " + "  ".join(
        f"{m} sMAPE {entry[m]['smape']:5.2f} MASE {entry[m]['mase']:.2f}" for m in ["rnnService", "seasonalNaive", "ets", "sarima"]), flush=True)

methods = ["rnnService", "seasonalNaive", "ets", "sarima"]
print("\n| series | months | RnnService default sMAPE / MASE | seasonal naive | ETS (damped Holt-Winters) | seasonal ARIMA |")
print("| --- | --- | --- | --- | --- | --- |")
for r in results:
    print(f"| {r['series']} | {r['length']} | " + " | ".join(f"{r[m]['smape']:.2f} / {r[m]['mase']:.2f}" for m in methods) + " |")
print("| **mean** | | " + " | ".join(
    f"{np.mean([r[m]['smape'] for r in results]):.2f} / {np.mean([r[m]['mase'] for r in results]):.2f}" for m in methods) + " |")
with open(results_path, "w") as f:
    json.dump(results, f, indent=2)
