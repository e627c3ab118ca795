// The hidden-state explorer, after LSTMVis (Strobelt et al.): the top layer's activations over an input as a heatmap
// (units × steps), a range and a threshold that pick the units on over it, and the ranges of the model's own dataset
// where those units are on together (the match view, POST /models/{name}/versions/{version}/matches).
import { get, post } from "../api";
import { heatmapColor } from "../charts";
import type { ModelVersion, PredictOutput, StateMatches } from "../types";
import { inputKind } from "../types";
import { attempt, h, number } from "../ui";
import type { Page } from "../router";
import { placeholderFor, sampleInput, sequencesFrom } from "./inputs";

interface Selection {
  from: number;
  to: number;
}

/** The units above the threshold at every step of the range. */
export function unitsOn(states: number[][], range: Selection, threshold: number): number[] {
  const units = states[0]?.length ?? 0;
  const on: number[] = [];
  for (let u = 0; u < units; u++) {
    let all = true;
    for (let t = range.from; t <= range.to && all; t++) all = states[t][u] > threshold;
    if (all) on.push(u);
  }
  return on;
}

export const explorerPage: Page = async (page, [name, versionText]) => {
  const version = await get<ModelVersion>(`/models/${name}/versions/${versionText}`);
  const kind = inputKind(version);
  const typed = h("textarea", { rows: 3, "data-testid": "explorer-input", spellcheck: false, placeholder: placeholderFor(kind) });
  const starts = h("input", { type: "text", placeholder: "start time (ISO 8601)" });
  const direction = h("select", { "aria-label": "direction" }, h("option", { value: "forward" }, "forward"), ...(version.spec.bidirectional ? [h("option", { value: "backward" }, "backward")] : []));
  const from = h("input", { type: "number", min: 0, value: 0, "data-testid": "range-from", "aria-label": "range from step" });
  const to = h("input", { type: "number", min: 0, value: 0, "data-testid": "range-to", "aria-label": "range to step" });
  const threshold = h("input", { type: "number", min: -1, max: 1, step: 0.05, value: 0.3, "data-testid": "threshold", "aria-label": "threshold" });
  const canvas = h("canvas", { class: "heatmap", "data-testid": "heatmap" });
  const labels = h("div", { class: "step-labels", "data-testid": "step-labels" });
  const unitsBox = h("div", { "data-testid": "units-on" });
  const matchesBox = h("div", { "data-testid": "matches" });
  const sample = await sampleInput(version);
  typed.value = sample?.typed ?? "";
  starts.value = sample?.starts ?? "";

  let states: number[][] = [];
  let steps: string[] = [];
  let on: number[] = [];
  const cell = { width: 12, height: 6 };

  const selection = (): Selection => {
    const a = Math.max(0, Math.min(states.length - 1, Number(from.value)));
    const b = Math.max(0, Math.min(states.length - 1, Number(to.value)));
    return { from: Math.min(a, b), to: Math.max(a, b) };
  };

  const draw = () => {
    if (states.length === 0) return;
    const units = states[0].length;
    const range = selection();
    on = unitsOn(states, range, Number(threshold.value));
    const available = Math.max(300, (canvas.parentElement?.clientWidth ?? 800) - 8);
    cell.width = Math.max(4, Math.min(28, Math.floor(available / states.length)));
    cell.height = Math.max(3, Math.min(10, Math.floor(320 / units)));
    canvas.width = cell.width * states.length;
    canvas.height = cell.height * units;
    const context = canvas.getContext("2d")!;
    for (let t = 0; t < states.length; t++) {
      for (let u = 0; u < units; u++) {
        context.fillStyle = heatmapColor(states[t][u]);
        context.fillRect(t * cell.width, u * cell.height, cell.width, cell.height);
      }
    }
    // The selected range, and the units on over it, outlined.
    context.strokeStyle = "#111827";
    context.lineWidth = 2;
    context.strokeRect(range.from * cell.width + 1, 1, (range.to - range.from + 1) * cell.width - 2, canvas.height - 2);
    context.fillStyle = "rgba(17,24,39,0.85)";
    for (const u of on) context.fillRect(0, u * cell.height + cell.height / 2 - 1, 3, 2);
    labels.replaceChildren(
      ...steps.map((step, t) =>
        h("span", { class: t >= range.from && t <= range.to ? "step selected" : "step", style: `width:${cell.width}px`, title: `step ${t}: ${step}` }, step),
      ),
    );
    unitsBox.replaceChildren(
      h("p", {}, `${on.length} of ${units} units are above ${threshold.value} at every step from ${range.from} to ${range.to}`, on.length > 0 ? ":" : "."),
      h("div", { class: "chips" }, ...on.map((u) => h("span", { class: "chip" }, `unit ${u}`))),
    );
  };

  // Only the latest run draws: an earlier answer that comes later is dropped.
  let runs = 0;
  const run = async () => {
    const mine = ++runs;
    const body: Record<string, unknown> = { model: `${name}:${versionText}`, returnStates: true, ...sequencesFrom(kind, typed.value) };
    for (const key of ["inputs", "texts", "tokens"]) if (Array.isArray(body[key])) body[key] = (body[key] as unknown[]).slice(0, 1);
    if (starts.value.trim()) body.starts = [starts.value.trim()];
    const answer = await post<{ outputs: PredictOutput[] }>("/predict", body);
    if (mine !== runs) return;
    const output = answer.outputs[0];
    states = (direction.value === "backward" ? output.states?.backward : output.states?.forward) ?? [];
    const input = body.inputs as unknown[][] | undefined;
    steps = output.tokens ?? (body.tokens as string[][] | undefined)?.[0] ?? (input?.[0] ?? []).map((v) => (Array.isArray(v) ? v.map((x) => number(x as number, 3)).join(" ") : number(v as number, 3)));
    from.max = to.max = String(states.length - 1);
    if (Number(to.value) >= states.length || Number(to.value) === 0) {
      from.value = String(Math.max(0, Math.floor(states.length / 2) - 1));
      to.value = String(Math.min(states.length - 1, Math.floor(states.length / 2) + 1));
    }
    matchesBox.replaceChildren();
    draw();
  };

  // Dragging over the heatmap selects a range of steps.
  let dragStart: number | null = null;
  const stepAt = (event: MouseEvent) => Math.max(0, Math.min(states.length - 1, Math.floor(event.offsetX / cell.width)));
  canvas.addEventListener("mousedown", (event) => {
    dragStart = stepAt(event);
    from.value = to.value = String(dragStart);
    draw();
  });
  canvas.addEventListener("mousemove", (event) => {
    if (dragStart === null) return;
    const here = stepAt(event);
    from.value = String(Math.min(dragStart, here));
    to.value = String(Math.max(dragStart, here));
    draw();
  });
  window.addEventListener("mouseup", () => (dragStart = null));
  for (const input of [from, to, threshold]) input.addEventListener("input", draw);
  direction.addEventListener("change", () => void attempt(run));

  const findButton = h("button", { type: "button", "data-testid": "find-matches" }, "Find matches in the dataset");
  findButton.addEventListener("click", () => void attempt(async () => {
    const range = selection();
    const found = await post<StateMatches>(`/models/${name}/versions/${versionText}/matches`, {
      units: on, threshold: Number(threshold.value), length: range.to - range.from + 1, direction: direction.value, limit: 10,
    });
    matchesBox.replaceChildren(
      h("p", {}, `${found.matches.length} best of the ranges in dataset ${found.datasetId} where these units are all on (searched ${number(found.searchedSequences)} sequences, ${number(found.searchedSteps)} steps${found.truncated ? "; the dataset has more" : ""}):`),
      h(
        "ol",
        { class: "matches" },
        ...found.matches.map((m) =>
          h(
            "li",
            { class: "match" },
            h("span", { class: "muted" }, `${m.series ? `${m.series} ` : ""}#${m.sequence}, steps ${m.start}–${m.end - 1}, score ${number(m.score, 3)}: `),
            ...m.steps.map((step, i) => h("span", { class: m.contextStart + i >= m.start && m.contextStart + i < m.end ? "hit" : "context" }, step, " ")),
          ),
        ),
      ),
    );
  }));

  const runButton = h("button", { type: "submit", "data-testid": "explore-run" }, "Show hidden states");
  const form = h("form", { class: "card" }, typed, h("div", { class: "row" }, version.preprocessing.calendar ? starts : null, h("label", {}, "direction ", direction), runButton));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void attempt(run);
  });
  page.append(
    h("h1", {}, `Hidden states of ${name} version ${versionText}`),
    h("p", { class: "muted" }, `The top layer's ${version.spec.hiddenSize} units (rows) at each step (columns): red above 0, blue below. Drag across the heatmap, or type a range, to pick the units that are on over it.`),
    form,
    h("div", { class: "scroll heatmap-box" }, canvas, labels),
    h("div", { class: "row" }, h("label", {}, "from step ", from), h("label", {}, "to step ", to), h("label", {}, "threshold ", threshold), findButton),
    unitsBox,
    matchesBox,
  );
  if (typed.value) await run();
  // Ready for the user (the browser test waits for this before it types).
  typed.dataset.ready = "true";
};
