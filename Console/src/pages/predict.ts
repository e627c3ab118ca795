import { get, list, post } from "../api";
import type { ModelDetail, ModelSummary, ModelVersion, PredictOutput } from "../types";
import { inputKind } from "../types";
import { attempt, h, number, table } from "../ui";
import type { Page } from "../router";
import { placeholderFor, sampleInput, sequencesFrom } from "./inputs";

function describe(output: PredictOutput): string {
  if (output.label !== undefined) {
    const p = output.probabilities as number[];
    return `label ${output.label} (p = ${number(Math.max(...p), 3)})`;
  }
  if (output.forecast) return `forecast ${output.forecast.map((s) => s.map((v) => number(v, 4)).join("/")).join(", ")}`;
  if (output.labels) return `labels ${output.labels.join(" ")}`;
  if (output.values) return `values ${JSON.stringify(output.values)}`;
  return JSON.stringify(output);
}

export const predictPage: Page = async (page, _params, _signal, query) => {
  const models = await list<ModelSummary>("/models");
  const model = h("select", { "data-testid": "predict-model", "aria-label": "model" });
  for (const m of models) {
    const detail = await get<ModelDetail>(`/models/${m.name}`);
    model.append(h("option", { value: m.name }, `${m.name} (latest, ${m.latestVersion})`), ...detail.versions.map((v) => h("option", { value: `${m.name}:${v.version}` }, `${m.name}:${v.version}`)));
  }
  if (query.get("model")) model.value = query.get("model")!;
  const typed = h("textarea", { rows: 6, "data-testid": "predict-input", spellcheck: false });
  const starts = h("input", { type: "text", placeholder: "start of each input (ISO 8601), comma-separated", "data-testid": "predict-starts" });
  const future = h("input", { type: "text", placeholder: "future: JSON, the known features over the horizon for each input" });
  const horizon = h("input", { type: "number", min: 1, placeholder: "horizon" });
  const extras = h("div", { class: "row" });
  const result = h("div", { "data-testid": "predict-result" });
  let version: ModelVersion | undefined;

  const choose = async () => {
    const [name, v] = model.value.split(":");
    const number = v ?? String((await get<ModelDetail>(`/models/${name}`)).versions[0].version);
    version = await get<ModelVersion>(`/models/${name}/versions/${number}`);
    const kind = inputKind(version);
    typed.placeholder = placeholderFor(kind);
    const p = version.preprocessing;
    extras.replaceChildren(
      ...(version.task.kind === "forecast" ? [horizon] : []),
      ...(p.calendar ? [starts] : []),
      ...(p.knownFeatures ? [future] : []),
    );
    delete typed.dataset.ready;
    const sample = await sampleInput(version);
    typed.value = sample?.typed ?? "";
    starts.value = sample?.starts ?? "";
    // Filled in: what is typed from here on is the user's (the browser test waits for this).
    typed.dataset.ready = "true";
  };
  model.addEventListener("change", () => void attempt(choose));
  const form = h("form", { class: "card" }, h("div", { class: "row" }, h("label", {}, "Model ", model)), typed, extras, h("button", { type: "submit", "data-testid": "predict-submit" }, "Predict"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void attempt(async () => {
      if (!version) return;
      const body: Record<string, unknown> = { model: model.value, ...sequencesFrom(inputKind(version), typed.value) };
      if (horizon.value) body.horizon = Number(horizon.value);
      if (starts.value.trim()) body.starts = starts.value.split(",").map((s) => s.trim());
      if (future.value.trim()) body.future = JSON.parse(future.value);
      const answer = await post<{ model: string; version: number; outputs: PredictOutput[] }>("/predict", body);
      result.replaceChildren(
        h("h2", {}, `${answer.model} version ${answer.version}`),
        table(["#", "answer"], answer.outputs.map((o, i) => [i, describe(o)]), "outputs"),
        h("details", {}, h("summary", {}, "JSON"), h("pre", {}, JSON.stringify(answer, null, 2))),
      );
    });
  });
  page.append(h("h1", {}, "Predict"), models.length === 0 ? h("p", { class: "empty" }, "No models yet.") : form, result);
  if (models.length > 0) await choose();
};
