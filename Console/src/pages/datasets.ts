import { get, list, upload } from "../api";
import { LineChart, color } from "../charts";
import type { Dataset, DatasetPreview, Histogram } from "../types";
import { attempt, bars, facts, h, number, table, time } from "../ui";
import type { Page } from "../router";

export const datasetsPage: Page = async (page) => {
  const file = h("input", { type: "file", name: "file", required: true, "data-testid": "dataset-file", accept: ".csv,.jsonl,.json,.txt" });
  const name = h("input", { type: "text", name: "name", placeholder: "name (optional)" });
  const format = h("select", { name: "format" }, h("option", { value: "" }, "format from the file name"), h("option", { value: "csv" }, "csv"), h("option", { value: "jsonl" }, "jsonl"));
  const form = h(
    "form",
    { class: "card row", "data-testid": "upload-form" },
    h("label", {}, "File ", file),
    name,
    format,
    h("button", { type: "submit" }, "Upload"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void attempt(async () => {
      const body = new FormData();
      if (file.files?.[0]) body.append("file", file.files[0]);
      if (name.value) body.append("name", name.value);
      if (format.value) body.append("format", format.value);
      const created = await upload<Dataset>("/datasets", body);
      location.hash = `#/datasets/${created.id}`;
    });
  });
  page.append(h("h1", {}, "Datasets"), form);
  const datasets = await list<Dataset>("/datasets");
  page.append(
    datasets.length === 0
      ? h("p", { class: "empty" }, "No datasets yet: upload a CSV time series or JSON lines of sequences or texts.")
      : table(
          ["name", "kind", "rows", "lengths", "created", "id"],
          datasets.map((d) => [
            h("a", { href: `#/datasets/${d.id}` }, d.name),
            d.kind,
            number(d.rows),
            `${d.minLength}–${d.maxLength}`,
            time(d.createdAt),
            h("code", {}, d.id),
          ]),
          "list",
        ),
  );
};

function histogram(values: Histogram, testId: string, integers: boolean): HTMLElement {
  return bars(
    values.counts.map((count, i) => ({
      label: integers && values.edges[i + 1] - values.edges[i] <= 1 ? number(values.edges[i]) : `${number(values.edges[i], 3)}–${number(values.edges[i + 1], 3)}`,
      count,
    })),
    testId,
  );
}

export const datasetPage: Page = async (page, [id], signal) => {
  const dataset = await get<Dataset>(`/datasets/${id}`);
  page.append(
    h("h1", {}, `Dataset ${dataset.name}`),
    h("p", {}, h("a", { class: "button", href: `#/jobs?dataset=${dataset.id}` }, "Train a model on it")),
    facts([
      ["id", h("code", {}, dataset.id)],
      ["kind", dataset.kind],
      ["format", dataset.format],
      ["rows", number(dataset.rows)],
      ["lengths", `${dataset.minLength} – ${dataset.maxLength}`],
      ...(dataset.columns ? [["columns", dataset.columns.join(", ")] as [string, string]] : []),
      ...(dataset.series ? [["series", number(dataset.series)] as [string, string]] : []),
      ...(dataset.frequency ? [["frequency", String(dataset.frequency)] as [string, string]] : []),
      ...(dataset.season ? [["season", String(dataset.season)] as [string, string]] : []),
      ["created", time(dataset.createdAt)],
    ]),
  );
  const preview = await get<DatasetPreview>(`/datasets/${id}/preview`);
  if (preview.series && preview.series.length > 0) {
    const seriesSelect = h("select", { "aria-label": "series" }, ...preview.series.map((s, i) => h("option", { value: i }, `${s.name} (${s.length} steps)`)));
    const chartBox = h("div", { class: "chart", "data-testid": "series-chart" });
    page.append(h("h2", {}, "Series"), h("div", { class: "row" }, seriesSelect), chartBox);
    let chart: LineChart | undefined;
    const draw = () => {
      chart?.destroy();
      const series = preview.series![Number(seriesSelect.value)];
      const columns = Object.keys(series.columns);
      const x = series.times ? series.times.map((t) => Date.parse(t) / 1000) : series.steps;
      chart = new LineChart(
        chartBox,
        columns.map((column, i) => ({ label: column, color: color(i), width: 1.5 })),
        [x, ...columns.map((column) => series.columns[column])],
        { xLabel: series.times ? "time" : "step", timeAxis: !!series.times },
      );
    };
    seriesSelect.addEventListener("change", draw);
    draw();
    signal.addEventListener("abort", () => chart?.destroy());
  }
  if (preview.lengths) page.append(h("h2", {}, "Lengths"), histogram(preview.lengths, "length-histogram", true));
  if (dataset.labels?.classes) {
    page.append(
      h("h2", {}, "Labels"),
      bars(Object.entries(dataset.labels.classes).map(([label, count]) => ({ label, count })), "label-counts"),
    );
  }
  if (preview.labelValues) page.append(h("h2", {}, "Label values"), histogram(preview.labelValues, "label-histogram", false));
  if (preview.examples && preview.examples.length > 0) {
    page.append(
      h("h2", {}, "First examples"),
      table(
        ["#", "input", "length", "label"],
        preview.examples.map((e, i) => [
          i,
          e.text ?? e.tokens?.join(" ") ?? JSON.stringify(e.steps),
          e.length,
          e.label.length > 8 ? `${e.label.slice(0, 8).join(", ")}, …` : e.label.join(", "),
        ]),
        "examples",
      ),
    );
  }
};
