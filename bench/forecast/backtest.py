"""Rolling-origin backtest of RnnService's default forecaster against statistical baselines, on real monthly series.

For every series and each of ORIGINS cut-offs (the last 36, 24 and 12 months held out in turn), the service trains on the
months before the cut-off through its HTTP API with only {"kind": "forecast", "horizon": 12} (season, window, scaling
and calendar features are the service's defaults, found in the data), and forecasts the next 12 months from the months
just before the cut-off. Variants (VARIANTS, comma-separated): `default`; `quantiles` (task.quantiles [0.1, 0.5, 0.9]:
sMAPE and MASE of the median, wQL and the 80% interval's coverage); `nocalendar` (task.calendarFeatures none).
The same script fits, on the same months: seasonal naive (the last year again), statsmodels' exponential smoothing
(additive damped trend, multiplicative season: Holt-Winters) and a seasonal ARIMA (the airline model,
(0,1,1)(0,1,1)12, whose 80% interval and quantiles are scored too). Scores: sMAPE (percent), MASE (scaled by the
in-sample MAE of the seasonal naive forecast on the training months), wQL (mean weighted quantile loss over 0.1, 0.5,
0.9) and coverage (share of actual months inside the 80% interval), averaged over the origins. The held-out months are
never uploaded: the service chooses its epochs on a validation split of the training months alone.

Usage: python3 backtest.py BASE_URL DATA_DIR RESULTS_JSON
"""
import csv
import json
import os
import sys
import warnings

import numpy as np
from scipy.stats import norm
from statsmodels.tsa.holtwinters import ExponentialSmoothing
from statsmodels.tsa.statespace.sarimax import SARIMAX

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "real-data"))
from service_api import Service  # noqa: E402

base, data, results_path = sys.argv[1], sys.argv[2], sys.argv[3]
service = Service(base)
HORIZON, SEASON, ORIGINS, LEVELS = 12, 12, [36, 24, 12], [0.1, 0.5, 0.9]
VARIANTS = {
    "default": {},
    "quantiles": {"task": {"quantiles": LEVELS}},
    "nocalendar": {"task": {"calendarFeatures": "none"}},
    # Settings tried while choosing the defaults (not run unless named in VARIANTS).
    "hidden16": {"model": {"hiddenSize": 16}},
    "hidden32": {"model": {"hiddenSize": 32}},
    "window36": {"task": {"inputLength": 36}},
    "window48": {"task": {"inputLength": 48}},
    "lr0005": {"training": {"learningRate": 0.0005}},
    "lr002": {"training": {"learningRate": 0.002}},
    "gru": {"model": {"cell": "gru"}},
    "layers2": {"model": {"numLayers": 2}},
}


def variant_settings(variant):
    """A variant's settings; `name@N` is variant `name` trained with seed N (`default@2,gru@2`)."""
    base, _, seed = variant.partition("@")
    settings = VARIANTS[base]
    if not seed:
        return settings
    return settings | {"training": settings.get("training", {}) | {"seed": int(seed)}}


chosen = [v for v in os.environ.get("VARIANTS", "default,quantiles,nocalendar").split(",") if v]
ONLY = [s for s in os.environ.get("ONLY", "").split(",") if s]
warnings.filterwarnings("ignore")


def smape(actual, forecast):
    return 100 * np.mean(2 * np.abs(actual - forecast) / (np.abs(actual) + np.abs(forecast)))


def mase(actual, forecast, history):
    scale = np.mean(np.abs(history[SEASON:] - history[:-SEASON]))
    return np.mean(np.abs(actual - forecast)) / scale


def wql(actual, quantiles):
    """GluonTS's mean weighted quantile loss: each level's pinball loss summed, doubled, over the sum of |actual|."""
    losses = [2 * np.sum(np.maximum(q * (actual - f), (q - 1) * (actual - f))) / np.sum(np.abs(actual))
              for q, f in zip(LEVELS, quantiles)]
    return float(np.mean(losses))


def coverage(actual, quantiles):
    return float(np.mean((actual >= quantiles[0]) & (actual <= quantiles[-1])))


def ours(name, months, history, variant):
    os.makedirs(os.path.join(data, "cuts"), exist_ok=True)
    path = os.path.join(data, "cuts", f"{name}-{len(history)}.csv")
    if not os.path.exists(path):
        with open(path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["month", "value"])
            writer.writerows(zip(months, history))
    dataset = service.upload(path)
    settings = variant_settings(variant)
    task = {"kind": "forecast", "horizon": HORIZON, **settings.get("task", {})}
    job = service.train(dataset, f"{name}-{len(history)}-{variant.replace('@', '-seed')}", task, {k: v for k, v in settings.items() if k != "task"})
    if job["state"] != "succeeded":
        raise RuntimeError(f"{name}: {job.get('error')}")
    resolved = job["request"]["task"]
    length = resolved["inputLength"]
    window = history[-length:]
    extra = {"starts": [months[len(history) - length]]} if resolved.get("calendarFeatures") == "auto" else {}
    output = service.predict(job["model"]["name"], "inputs", [[float(v) for v in window]], **extra)[0]
    forecast = np.array([step[0] for step in output["forecast"]])
    quantiles = [np.array([step[0] for step in output["quantiles"][str(q)]]) for q in LEVELS] if "quantiles" in output else None
    return forecast, quantiles, job


def baselines(history):
    naive = np.tile(history[-SEASON:], HORIZON // SEASON + 1)[:HORIZON]
    ets = ExponentialSmoothing(history, trend="add", damped_trend=True, seasonal="mul" if history.min() > 0 else "add",
                               seasonal_periods=SEASON).fit().forecast(HORIZON)
    arima = SARIMAX(history, order=(0, 1, 1), seasonal_order=(0, 1, 1, SEASON)).fit(disp=False).get_forecast(HORIZON)
    mean, sd = np.asarray(arima.predicted_mean), np.sqrt(np.asarray(arima.var_pred_mean))
    arima_quantiles = [mean + norm.ppf(q) * sd for q in LEVELS]
    return {"seasonalNaive": (naive, None), "ets": (np.asarray(ets), None), "sarima": (mean, arima_quantiles)}


methods = [f"rnnService-{v}" for v in chosen] + ["seasonalNaive", "ets", "sarima"]
results = []
for file in sorted(f for f in os.listdir(data) if f.endswith(".csv")):
    name = file[:-4]
    if ONLY and name not in ONLY:
        continue
    with open(os.path.join(data, file)) as f:
        rows = list(csv.DictReader(f))
    months = [r["month"] for r in rows]
    values = np.array([float(r["value"]) for r in rows])
    scores, settings = {}, {}
    for held in ORIGINS:
        cut = len(values) - held
        history, actual = values[:cut], values[cut:cut + HORIZON]
        forecasts = baselines(history)
        for variant in chosen:
            forecast, quantiles, job = ours(name, months[:cut], history, variant)
            forecasts[f"rnnService-{variant}"] = (forecast, quantiles)
            settings.setdefault(variant, []).append({k: job["request"]["task"].get(k) for k in ("inputLength", "season", "scaling")} |
                                                   {"epochs": len(job.get("history") or [])})
        for method, (forecast, quantiles) in forecasts.items():
            entry = {"smape": smape(actual, forecast), "mase": mase(actual, forecast, history)}
            if quantiles is not None:
                entry |= {"wql": wql(actual, quantiles), "coverage80": coverage(actual, quantiles)}
            scores.setdefault(method, []).append(entry)
    entry = {"series": name, "length": len(values), "settings": settings,
             **{m: {**{k: float(np.mean([s[k] for s in v])) for k in v[0]}, "origins": v} for m, v in scores.items()}}
    results.append(entry)
    print(f"{name:24} {len(values):4} months  " + "  ".join(
        f"{m} {entry[m]['smape']:5.2f}/{entry[m]['mase']:.2f}" for m in methods), flush=True)


def cell(r, m):
    e = r[m]
    text = f"{e['smape']:.2f} / {e['mase']:.2f}"
    return text + (f" (wQL {e['wql']:.3f}, 80%: {100 * e['coverage80']:.0f}%)" if "wql" in e else "")


print("\n| series | months | " + " | ".join(methods) + " |")
print("| --- | --- | " + " | ".join("---" for _ in methods) + " |")
for r in results:
    print(f"| {r['series']} | {r['length']} | " + " | ".join(cell(r, m) for m in methods) + " |")
mean = {m: {k: float(np.mean([r[m][k] for r in results])) for k in results[0][m] if k != "origins"} for m in methods}
print("| **mean** | | " + " | ".join(cell({"x": mean[m]}, "x") for m in methods) + " |")
best_stat = min(mean["ets"]["mase"], mean["sarima"]["mase"])
for m in methods:
    if m.startswith("rnnService"):
        beats = sum(r[m]["mase"] < r["seasonalNaive"]["mase"] for r in results)
        print(f"{m}: beats seasonal naive on {beats} of {len(results)} series; mean MASE {mean[m]['mase']:.3f} is "
              f"{100 * (mean[m]['mase'] / best_stat - 1):+.1f}% against the better statistical baseline ({best_stat:.3f})")
with open(results_path, "w") as f:
    json.dump({"series": results, "mean": mean}, f, indent=2)
