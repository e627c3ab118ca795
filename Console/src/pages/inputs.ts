import { get } from "../api";
import type { DatasetPreview, Evaluation, InputKind, ModelVersion, TrainingJob, TuningJob } from "../types";
import { inputKind } from "../types";

/** A predict request's sequences from what was typed: a text per line, tokens split on spaces, or JSON numbers. */
export function sequencesFrom(kind: InputKind, typed: string): Record<string, unknown> {
  if (kind === "texts") return { texts: typed.split("\n").map((line) => line.trim()).filter((line) => line.length > 0) };
  if (kind === "tokens") return { tokens: typed.split("\n").map((line) => line.trim().split(/\s+/)).filter((t) => t[0]) };
  let parsed: unknown;
  try {
    parsed = JSON.parse(typed);
  } catch (error) {
    throw new Error(`The inputs are not JSON: ${(error as Error).message}. Send a list of sequences, e.g. [[1, 2, 3], [4, 5]].`);
  }
  // One sequence of bare numbers, or of steps, is taken as a list of one.
  const list = Array.isArray(parsed) && parsed.length > 0 && !Array.isArray(parsed[0]) ? [parsed] : parsed;
  return { inputs: list };
}

export interface Sample {
  typed: string;
  starts?: string;
  future?: string;
}

/** Something to start from: the version's first validation window (forecasts) or its dataset's first example. */
export async function sampleInput(version: ModelVersion): Promise<Sample | undefined> {
  const kind = inputKind(version);
  try {
    if (version.task.kind === "forecast") {
      const evaluation = await get<Evaluation>(`/models/${version.name}/versions/${version.version}/evaluation`);
      const w = evaluation.windows?.[0];
      if (!w) return undefined;
      return { typed: JSON.stringify([w.history.map((step) => (step.length === 1 ? step[0] : step))]), starts: w.startTime };
    }
    const datasetId = version.source.startsWith("job_")
      ? (await get<TrainingJob>(`/training-jobs/${version.source}`)).request.datasetId
      : version.source.startsWith("tune_")
        ? (await get<TuningJob>(`/tuning-jobs/${version.source}`)).request.datasetId
        : undefined;
    if (!datasetId) return undefined;
    const example = (await get<DatasetPreview>(`/datasets/${datasetId}/preview`)).examples?.[0];
    if (!example) return undefined;
    if (kind === "texts" && example.text) return { typed: example.text };
    if (kind === "tokens" && example.tokens) return { typed: example.tokens.join(" ") };
    if (example.steps) return { typed: JSON.stringify([example.steps.map((step) => (step.length === 1 ? step[0] : step))]) };
  } catch {
    // No sample: the box stays empty and says what to type.
  }
  return undefined;
}

export function placeholderFor(kind: InputKind): string {
  if (kind === "texts") return "One text per line";
  if (kind === "tokens") return "One sequence per line, tokens separated by spaces";
  return "JSON: a list of sequences, e.g. [[112, 118, 132], [115, 126]] or [[[0.1, 2], [0.3, 1]]] for several features";
}
