import { follow, get, list, post } from "../api";
import { LineChart } from "../charts";
import type { Dataset, EpochEntry, JobProgress, TrainingJob } from "../types";
import { append, attempt, badge, duration, facts, h, number, table, time } from "../ui";
import type { Page } from "../router";

const finalStates = ["succeeded", "failed", "cancelled"];

/** The kinds a dataset can train, the first being the usual one. */
export function kindsFor(dataset: Dataset | undefined): string[] {
  if (!dataset) return ["forecast", "classification", "regression", "labelling"];
  if (dataset.kind === "timeSeries") return ["forecast"];
  if (dataset.labels?.perStep) return ["labelling"];
  return dataset.labels?.kind === "number" ? ["regression"] : ["classification"];
}

export const jobsPage: Page = async (page, _params, _signal, query) => {
  const [datasets, jobs] = await Promise.all([list<Dataset>("/datasets"), list<TrainingJob>("/training-jobs")]);
  const datasetSelect = h("select", { name: "datasetId", "data-testid": "job-dataset" }, ...datasets.map((d) => h("option", { value: d.id }, `${d.name} (${d.kind}, ${d.id})`)));
  if (query.get("dataset")) datasetSelect.value = query.get("dataset")!;
  const modelName = h("input", { type: "text", name: "modelName", placeholder: "model name", required: true, "data-testid": "job-model-name" });
  const kind = h("select", { name: "kind", "data-testid": "job-kind" });
  const settings = h("textarea", { rows: 4, name: "settings", "data-testid": "job-settings", spellcheck: false });
  settings.value = JSON.stringify({ model: { hiddenSize: 32 }, training: { epochs: 30 } }, null, 1);
  const fillKinds = () => {
    const dataset = datasets.find((d) => d.id === datasetSelect.value);
    kind.replaceChildren(...kindsFor(dataset).map((k) => h("option", { value: k }, k)));
    if (!modelName.value && dataset) modelName.value = dataset.name.replace(/[^A-Za-z0-9_.-]+/g, "-").toLowerCase();
  };
  datasetSelect.addEventListener("change", fillKinds);
  fillKinds();
  const form = h(
    "form",
    { class: "card", "data-testid": "job-form" },
    h("div", { class: "row" }, h("label", {}, "Dataset ", datasetSelect), h("label", {}, "Model ", modelName), h("label", {}, "Task ", kind)),
    h("label", { class: "stack" }, "model, training and task settings (JSON, merged into the request; anything left out takes its default)", settings),
    h("button", { type: "submit" }, "Start training"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void attempt(async () => {
      let extra: Record<string, any> = {};
      try {
        extra = settings.value.trim() ? JSON.parse(settings.value) : {};
      } catch (error) {
        throw new Error(`The settings are not JSON: ${(error as Error).message}`);
      }
      const body = { ...extra, datasetId: datasetSelect.value, modelName: modelName.value, task: { ...(extra.task ?? {}), kind: kind.value } };
      const job = await post<TrainingJob>("/training-jobs", body);
      location.hash = `#/jobs/${job.id}`;
    });
  });
  page.append(h("h1", {}, "Training jobs"), datasets.length > 0 ? form : h("p", { class: "empty" }, "Upload a dataset first."));
  page.append(
    jobs.length === 0
      ? h("p", { class: "empty" }, "No jobs yet.")
      : table(
          ["job", "model", "state", "epoch", "created"],
          jobs.map((j) => [
            h("a", { href: `#/jobs/${j.id}` }, j.id),
            j.request.modelName,
            badge(j.state),
            j.progress ? `${j.progress.epoch} / ${j.progress.epochs}` : "–",
            time(j.createdAt),
          ]),
          "list",
        ),
  );
};

/** Loss curves of epochs, updated as epochs end: train and validation loss over the epoch number. */
export class LossChart {
  private readonly epochs: number[] = [];
  private readonly train: number[] = [];
  private readonly validation: number[] = [];
  private readonly chart: LineChart;

  constructor(container: HTMLElement, history: EpochEntry[]) {
    for (const entry of history) this.push(entry);
    this.chart = new LineChart(
      container,
      [
        { label: "train loss", color: "#2563eb" },
        { label: "validation loss", color: "#dc2626" },
      ],
      this.data(),
      { xLabel: "epoch", yLabel: "loss", wholeX: true },
    );
  }

  private push(entry: EpochEntry): void {
    if (this.epochs.includes(entry.epoch)) return;
    this.epochs.push(entry.epoch);
    this.train.push(entry.trainLoss);
    this.validation.push(entry.validationLoss);
  }

  private data(): number[][] {
    return [this.epochs, this.train, this.validation];
  }

  add(entry: EpochEntry): void {
    this.push(entry);
    this.chart.update(this.data());
  }

  get count(): number {
    return this.epochs.length;
  }

  destroy(): void {
    this.chart.destroy();
  }
}

function progressView(progress: JobProgress | undefined, state: string): HTMLElement {
  if (!progress) return h("p", { class: "muted" }, state === "queued" ? "Waiting for a worker." : "No progress yet.");
  const within = progress.batches ? (progress.batch ?? 0) / progress.batches : 0;
  const done = finalStates.includes(state) ? 1 : (progress.epoch + within) / Math.max(1, progress.epochs);
  return h(
    "div",
    { class: "progress-box", "data-testid": "job-progress" },
    h("div", { class: "progress" }, h("span", { style: `width:${(100 * done).toFixed(1)}%` })),
    h(
      "p",
      {},
      `epoch ${progress.epoch} of ${progress.epochs}`,
      progress.batches && !finalStates.includes(state) ? ` · batch ${progress.batch ?? 0} of ${progress.batches} in epoch ${progress.epoch + 1}` : "",
      progress.sequencesPerSecond ? ` · ${number(progress.sequencesPerSecond, 3)} sequences/s` : "",
      progress.etaSeconds && !finalStates.includes(state) ? ` · about ${duration(progress.etaSeconds)} left` : "",
      ` · train loss ${number(progress.trainLoss)} · validation loss ${number(progress.validationLoss)}`,
      progress.bestEpoch !== undefined && progress.bestEpoch !== null ? ` · best epoch ${progress.bestEpoch}` : "",
    ),
  );
}

function metricsTable(metrics: Record<string, number> | undefined): HTMLElement {
  if (!metrics) return h("p", { class: "muted" }, "Metrics come when the job succeeds.");
  return table(["metric", "value"], Object.entries(metrics).map(([name, value]) => [name, number(value)]), "metrics");
}

export const jobPage: Page = async (page, [id], signal) => {
  let job = await get<TrainingJob>(`/training-jobs/${id}`);
  const stateBox = h("span", { "data-testid": "job-state" });
  const progressBox = h("div", {});
  const chartBox = h("div", { class: "chart", "data-testid": "loss-chart" });
  const epochCount = h("span", { "data-testid": "epoch-count" });
  const details = h("div", {});
  const cancel = h("button", { type: "button", class: "danger", "data-testid": "cancel-job" }, "Cancel");
  cancel.addEventListener("click", () => void attempt(async () => {
    await post(`/training-jobs/${id}/cancel`);
    cancel.disabled = true;
  }));
  page.append(
    h("h1", {}, `Training job ${job.request.modelName}`, " ", stateBox),
    h("p", { class: "row" }, cancel, job.tuningJobId ? h("a", { href: `#/tuning/${job.tuningJobId}` }, `trial ${job.trial} of tuning job ${job.tuningJobId}`) : null),
    progressBox,
    h("h2", {}, "Loss ", h("small", { class: "muted" }, epochCount)),
    chartBox,
    details,
  );
  const chart = new LossChart(chartBox, job.history);
  signal.addEventListener("abort", () => chart.destroy());

  const render = () => {
    stateBox.replaceChildren(badge(job.state));
    cancel.hidden = finalStates.includes(job.state);
    progressBox.replaceChildren(progressView(job.progress, job.state));
    epochCount.textContent = `${chart.count} epoch${chart.count === 1 ? "" : "s"}`;
    details.replaceChildren();
    append(details,
      h("h2", {}, "Metrics"),
      metricsTable(job.metrics),
      job.error ? h("p", { class: "error" }, job.error) : null,
      job.model ? h("p", {}, "Model: ", h("a", { href: `#/models/${job.model.name}/${job.model.version}`, "data-testid": "job-model-link" }, `${job.model.name} version ${job.model.version}`)) : null,
      facts([
        ["id", h("code", {}, job.id)],
        ["dataset", h("a", { href: `#/datasets/${job.request.datasetId}` }, job.request.datasetId)],
        ["device", job.device ?? "–"],
        ["created", time(job.createdAt)],
        ["started", time(job.startedAt)],
        ["finished", time(job.finishedAt)],
        ["stopped by", job.stoppedBy ?? "–"],
      ]),
      h("details", {}, h("summary", {}, "Request (defaults filled in)"), h("pre", {}, JSON.stringify(job.request, null, 2))),
    );
  };
  render();
  if (finalStates.includes(job.state)) return;
  // Live: an epoch event per finished epoch, progress events inside an epoch, state events; the stream ends with the job.
  void attempt(async () => {
    await follow(
      `/training-jobs/${id}/events`,
      (name, event) => {
        job = { ...job, state: event.state ?? job.state, progress: event.progress ?? job.progress };
        if (name === "epoch" && event.epoch) chart.add(event.epoch);
        if (event.metrics) job.metrics = event.metrics;
        if (event.model) job.model = event.model;
        if (event.error) job.error = event.error;
        render();
      },
      signal,
    );
    if (!signal.aborted) {
      job = await get<TrainingJob>(`/training-jobs/${id}`);
      for (const entry of job.history) chart.add(entry);
      render();
    }
  });
};
