import { follow, get, list, post } from "../api";
import { LineChart, color } from "../charts";
import type { Dataset, TrainingJob, TuningJob } from "../types";
import { append, attempt, badge, h, number, table, time } from "../ui";
import type { Page } from "../router";
import { kindsFor } from "./jobs";

const finalStates = ["succeeded", "failed", "cancelled"];

export const tuningListPage: Page = async (page) => {
  const [datasets, searches] = await Promise.all([list<Dataset>("/datasets"), list<TuningJob>("/tuning-jobs")]);
  const datasetSelect = h("select", { name: "datasetId" }, ...datasets.map((d) => h("option", { value: d.id }, `${d.name} (${d.kind})`)));
  const modelName = h("input", { type: "text", placeholder: "model name", required: true });
  const kind = h("select", {}, ...kindsFor(undefined).map((k) => h("option", { value: k }, k)));
  const settings = h("textarea", { rows: 5, spellcheck: false });
  settings.value = JSON.stringify({ search: { maxTrials: 6, maxParallel: 2, earlyStopping: "asha" }, training: { epochs: 20 } }, null, 1);
  const form = h(
    "form",
    { class: "card" },
    h("div", { class: "row" }, h("label", {}, "Dataset ", datasetSelect), h("label", {}, "Model ", modelName), h("label", {}, "Task ", kind)),
    h("label", { class: "stack" }, "search, model and training (JSON; an omitted search space is the task's default)", settings),
    h("button", { type: "submit" }, "Start tuning"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void attempt(async () => {
      const extra = settings.value.trim() ? JSON.parse(settings.value) : {};
      const search = await post<TuningJob>("/tuning-jobs", {
        ...extra, datasetId: datasetSelect.value, modelName: modelName.value, task: { ...(extra.task ?? {}), kind: kind.value },
      });
      location.hash = `#/tuning/${search.id}`;
    });
  });
  page.append(h("h1", {}, "Tuning jobs"), datasets.length > 0 ? form : h("p", { class: "empty" }, "Upload a dataset first."));
  page.append(
    searches.length === 0
      ? h("p", { class: "empty" }, "No tuning jobs yet.")
      : table(
          ["tuning job", "model", "state", "trials", "best", "created"],
          searches.map((t) => [
            h("a", { href: `#/tuning/${t.id}` }, t.id),
            t.request.modelName,
            badge(t.state),
            t.trials.length,
            t.best ? number(t.best.metric) : "–",
            time(t.createdAt),
          ]),
          "list",
        ),
  );
};

export const tuningPage: Page = async (page, [id], signal) => {
  const header = h("div", {});
  const trialsBox = h("div", {});
  const chartBox = h("div", { class: "chart", "data-testid": "trial-chart" });
  page.append(header, h("h2", {}, "Validation loss of each trial"), chartBox, trialsBox);
  let chart: LineChart | undefined;
  signal.addEventListener("abort", () => chart?.destroy());

  const load = async () => {
    const search = await get<TuningJob>(`/tuning-jobs/${id}`);
    const cancel = h("button", { type: "button", class: "danger" }, "Cancel");
    cancel.addEventListener("click", () => void attempt(async () => {
      await post(`/tuning-jobs/${id}/cancel`);
      await load();
    }));
    header.replaceChildren();
    append(header,
      h("h1", {}, `Tuning job ${search.request.modelName} `, badge(search.state)),
      h(
        "p",
        {},
        `metric ${search.request.search?.metric ?? "validationLoss"} · ${search.trials.length} of ${search.request.search?.maxTrials ?? "?"} trials`,
        search.best ? ` · best so far: trial ${search.best.number} with ${number(search.best.metric)}` : "",
        search.best?.keptOver
          ? ` (the defaults, kept over trial ${search.best.keptOver.number} with ${number(search.best.keptOver.metric)}: ` +
            (search.best.keptOver.standardError != null
              ? `within its standard error, ${number(search.best.keptOver.standardError)})`
              : "which has no standard error to be judged by)")
          : "",
        " ",
        finalStates.includes(search.state) ? null : cancel,
      ),
      search.model ? h("p", {}, "Model: ", h("a", { href: `#/models/${search.model.name}/${search.model.version}` }, `${search.model.name} version ${search.model.version}`)) : null,
      search.error ? h("p", { class: "error" }, search.error) : null,
    );
    trialsBox.replaceChildren(
      table(
        ["trial", "state", "metric", "epochs", "parameters", "job"],
        search.trials.map((t) => [
          search.best?.jobId === t.jobId ? h("strong", {}, `${t.number} ★`) : t.number,
          badge(t.stoppedEarly ? "pruned" : t.state),
          number(t.metric),
          t.epochs,
          h("code", {}, Object.entries(t.parameters).map(([k, v]) => `${k}=${typeof v === "number" ? number(v, 3) : v}`).join(" ")),
          h("a", { href: `#/jobs/${t.jobId}` }, t.jobId),
        ]),
        "list",
      ),
    );
    // Each trial's validation curve (its job's history), on one chart over the epoch.
    const jobs = await Promise.all(search.trials.map((t) => get<TrainingJob>(`/training-jobs/${t.jobId}`)));
    const epochs = Math.max(1, ...jobs.map((j) => j.history.length));
    const x = Array.from({ length: epochs }, (_, i) => i + 1);
    const data = [x, ...jobs.map((j) => x.map((epoch) => j.history.find((e) => e.epoch === epoch)?.validationLoss ?? null))];
    chart?.destroy();
    chart = new LineChart(
      chartBox,
      search.trials.map((t, i) => ({ label: `trial ${t.number}`, color: color(i), width: search.best?.jobId === t.jobId ? 3 : 1.5 })),
      data,
      { xLabel: "epoch", yLabel: "validation loss", wholeX: true },
    );
    return search;
  };
  const search = await load();
  if (finalStates.includes(search.state)) return;
  void attempt(async () => {
    await follow(`/tuning-jobs/${id}/events`, () => void load(), signal);
    if (!signal.aborted) await load();
  });
};
