import { ApiError, download, get, list } from "../api";
import { LineChart, color } from "../charts";
import type { Evaluation, ModelDetail, ModelSummary, ModelVersion } from "../types";
import { attempt, facts, h, number, table, time } from "../ui";
import type { Page } from "../router";

export const modelsPage: Page = async (page) => {
  const models = await list<ModelSummary>("/models");
  page.append(
    h("h1", {}, "Models"),
    models.length === 0
      ? h("p", { class: "empty" }, "No models yet: train one, or import PyTorch weights through the API.")
      : table(
          ["name", "latest version", "versions", "updated"],
          models.map((m) => [h("a", { href: `#/models/${m.name}` }, m.name), h("a", { href: `#/models/${m.name}/${m.latestVersion}` }, m.latestVersion), m.versions, time(m.updatedAt)]),
          "list",
        ),
  );
};

/** The few metrics worth a column: the first of these a version has. */
const headline = ["smape", "mase", "accuracy", "macroF1", "mae", "rmse"];

export const modelPage: Page = async (page, [name]) => {
  const model = await get<ModelDetail>(`/models/${name}`);
  const shown = headline.filter((m) => model.versions.some((v) => v.metrics?.[m] !== undefined));
  page.append(
    h("h1", {}, `Model ${model.name}`),
    h("p", {}, `aliases: ${Object.entries(model.aliases).map(([alias, version]) => `${alias} → ${version}`).join(", ")}`),
    table(
      ["version", ...shown, "source", "created"],
      model.versions.map((v) => [
        h("a", { href: `#/models/${name}/${v.version}` }, v.version),
        ...shown.map((m) => number(v.metrics?.[m])),
        v.source.startsWith("job_") ? h("a", { href: `#/jobs/${v.source}` }, v.source) : v.source.startsWith("tune_") ? h("a", { href: `#/tuning/${v.source}` }, v.source) : v.source,
        time(v.createdAt),
      ]),
      "list",
    ),
  );
};

function confusionMatrix(evaluation: Evaluation): HTMLElement {
  const labels = evaluation.labels ?? [];
  const matrix = evaluation.confusion ?? [];
  const most = Math.max(1, ...matrix.flat());
  return h(
    "div",
    { class: "scroll" },
    h(
      "table",
      { class: "confusion", "data-testid": "confusion-matrix" },
      h("thead", {}, h("tr", {}, h("th", {}, "actual ↓ predicted →"), ...labels.map((l) => h("th", {}, l)))),
      h(
        "tbody",
        {},
        ...matrix.map((row, i) =>
          h(
            "tr",
            {},
            h("th", {}, labels[i]),
            ...row.map((count, j) =>
              h("td", { class: i === j ? "diagonal" : "", style: `background:rgba(${i === j ? "22,163,74" : "220,38,38"},${(0.08 + (0.7 * count) / most).toFixed(2)})` }, count),
            ),
          ),
        ),
      ),
    ),
  );
}

/** A forecast window: the input's values, then the actual and forecast horizon, with the widest quantile band. */
function forecastView(evaluation: Evaluation, signal: AbortSignal): HTMLElement {
  const windows = evaluation.windows ?? [];
  const targets = evaluation.targets ?? [];
  const box = h("div", { class: "chart", "data-testid": "forecast-chart" });
  const picker = h("input", { type: "range", min: 0, max: Math.max(0, windows.length - 1), value: 0, "aria-label": "validation window" });
  const target = h("select", { "aria-label": "target" }, ...targets.map((t, i) => h("option", { value: i }, t)));
  const caption = h("span", {});
  let chart: LineChart | undefined;
  signal.addEventListener("abort", () => chart?.destroy());
  const levels = (evaluation.quantiles ?? []).slice().sort((a, b) => a - b);
  const draw = () => {
    const w = windows[Number(picker.value)];
    const k = Number(target.value);
    if (!w) return;
    const history = w.history.map((step) => step[k]);
    const steps = history.length + w.actual.length;
    const x = Array.from({ length: steps }, (_, i) => w.start + i);
    const pad = (values: number[]) => [...Array(history.length - 1).fill(null), history[history.length - 1], ...values];
    const actual = [...history, ...w.actual.map((s) => s[k])];
    const forecast = pad(w.forecast.map((s) => s[k]));
    const lines = [
      { label: "actual", color: "#111827" },
      { label: "forecast", color: "#2563eb" },
    ];
    const data: (number | null)[][] = [x, actual, forecast];
    const bands = [];
    if (w.quantiles && levels.length >= 2) {
      const low = levels[0], high = levels[levels.length - 1];
      lines.push({ label: `q${high}`, color: "rgba(37,99,235,0.4)" }, { label: `q${low}`, color: "rgba(37,99,235,0.4)" });
      data.push(pad(w.quantiles[String(high)].map((s) => s[k])), pad(w.quantiles[String(low)].map((s) => s[k])));
      bands.push({ upper: 3, lower: 4, color: "rgba(37,99,235,0.15)" });
    }
    caption.textContent = ` window ${Number(picker.value) + 1} of ${windows.length} shown (${evaluation.count} validation windows) ${w.series ? `· series ${w.series} ` : ""}· input from step ${w.start}${w.startTime ? ` (${w.startTime.slice(0, 10)})` : ""}`;
    chart?.destroy();
    chart = new LineChart(box, lines, data, { xLabel: "step", bands, wholeX: true });
  };
  picker.addEventListener("input", draw);
  target.addEventListener("change", draw);
  queueMicrotask(draw);
  return h("div", {}, h("div", { class: "row" }, h("label", {}, "Window ", picker), targets.length > 1 ? target : null, caption), box);
}

function numbersView(evaluation: Evaluation, signal: AbortSignal): HTMLElement {
  const box = h("div", { class: "chart", "data-testid": "numbers-chart" });
  const points = (evaluation.points ?? []).slice().sort((a, b) => a[0] - b[0]);
  queueMicrotask(() => {
    const chart = new LineChart(
      box,
      [
        { label: "predicted", color: color(0), points: true },
        { label: "actual (y = x)", color: "#9ca3af", width: 1 },
      ],
      [points.map((p) => p[0]), points.map((p) => p[1]), points.map((p) => p[0])],
      { xLabel: "actual" },
    );
    signal.addEventListener("abort", () => chart.destroy());
  });
  return box;
}

export const versionPage: Page = async (page, [name, versionText], signal) => {
  const version = await get<ModelVersion>(`/models/${name}/versions/${versionText}`);
  const downloadButton = h("button", { type: "button" }, "Download weights (.pt)");
  downloadButton.addEventListener("click", () => void attempt(() => download(`/models/${name}/versions/${versionText}/weights`, `${name}-v${versionText}.pt`)));
  const spec = version.spec;
  page.append(
    h("h1", {}, `${name} version ${version.version}`),
    h(
      "p",
      { class: "row" },
      h("a", { class: "button", href: `#/predict?model=${name}:${version.version}` }, "Predict"),
      h("a", { class: "button", href: `#/explorer/${name}/${version.version}`, "data-testid": "open-explorer" }, "Explore hidden states"),
      downloadButton,
    ),
    facts([
      ["task", version.task.kind],
      ["network", `${spec.cell.toUpperCase()} ${spec.numLayers}×${spec.hiddenSize}${spec.bidirectional ? " bidirectional" : ""}, ${spec.inputSize} in, ${spec.outputSize} out`],
      ["parameters", number(version.parameterCount)],
      ["source", version.source],
      ["trained on", version.device ?? "–"],
      ["created", time(version.createdAt)],
    ]),
    h("h2", {}, "Validation metrics"),
    version.metrics ? table(["metric", "value"], Object.entries(version.metrics).map(([k, v]) => [k, number(v)]), "metrics") : h("p", { class: "muted" }, "none (imported)"),
  );
  let evaluation: Evaluation | undefined;
  try {
    evaluation = await get<Evaluation>(`/models/${name}/versions/${versionText}/evaluation`);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) throw error;
  }
  if (!evaluation) {
    page.append(h("p", { class: "muted" }, "This version has no evaluation to draw (imported versions have none)."));
    return;
  }
  if (evaluation.kind === "forecast") page.append(h("h2", {}, "Forecasts against actuals on the validation windows"), forecastView(evaluation, signal));
  else if (evaluation.kind === "classes") {
    page.append(
      h("h2", {}, `Confusion matrix (${number(evaluation.count)} validation ${version.task.kind === "labelling" ? "steps" : "examples"})`),
      evaluation.confusion ? confusionMatrix(evaluation) : h("p", { class: "muted" }, "Too many classes to draw."),
    );
  } else page.append(h("h2", {}, `Predicted against actual (${number(evaluation.count)} validation examples)`), numbersView(evaluation, signal));
};
