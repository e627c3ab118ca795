// The API's answers as the console reads them (the OpenAPI document at /openapi/v1.json has them in full).

export interface Dataset {
  id: string;
  name: string;
  format: string;
  kind: string;
  rows: number;
  columns?: string[];
  featureCount?: number;
  series?: number;
  minLength: number;
  maxLength: number;
  labels?: { kind: string; classes?: Record<string, number>; width: number; perStep?: boolean };
  createdAt: string;
  [key: string]: unknown;
}

export interface Histogram {
  min: number;
  max: number;
  edges: number[];
  counts: number[];
}

export interface DatasetPreview {
  kind: string;
  series?: { name: string; length: number; steps: number[]; times?: string[]; columns: Record<string, number[]> }[];
  lengths?: Histogram;
  labelValues?: Histogram;
  examples?: { text?: string; tokens?: string[]; steps?: number[][]; length: number; label: number[] }[];
}

export interface EpochEntry {
  epoch: number;
  trainLoss: number;
  validationLoss: number;
  elapsedSeconds: number;
  metrics: Record<string, number>;
}

export interface JobProgress {
  epoch: number;
  epochs: number;
  trainLoss?: number | null;
  validationLoss?: number | null;
  elapsedSeconds: number;
  bestEpoch?: number | null;
  batch?: number | null;
  batches?: number | null;
  sequencesPerSecond?: number | null;
  epochEtaSeconds?: number | null;
  etaSeconds?: number | null;
}

export interface TrainingJob {
  id: string;
  state: string;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  request: { datasetId: string; modelName: string; task: Record<string, unknown>; model?: Record<string, unknown>; training?: Record<string, unknown> };
  progress?: JobProgress;
  history: EpochEntry[];
  metrics?: Record<string, number>;
  model?: { name: string; version: number };
  error?: string;
  device?: string;
  stoppedBy?: string;
  tuningJobId?: string;
  trial?: number;
  parameters?: Record<string, unknown>;
}

export interface Trial {
  jobId: string;
  number: number;
  parameters: Record<string, unknown>;
  state: string;
  metric?: number | null;
  epochs: number;
  stoppedEarly: boolean;
  error?: string;
}

export interface TuningJob {
  id: string;
  state: string;
  createdAt: string;
  finishedAt?: string;
  request: { datasetId: string; modelName: string; task: Record<string, unknown>; search?: { metric?: string; maxTrials?: number } };
  trials: Trial[];
  best?: {
    jobId: string;
    number: number;
    parameters: Record<string, unknown>;
    metric: number;
    standardError?: number | null;
    keptOver?: { jobId: string; number: number; metric: number; standardError?: number | null } | null;
  };
  model?: { name: string; version: number };
  error?: string;
}

export interface ModelSummary {
  name: string;
  latestVersion: number;
  versions: number;
  createdAt: string;
  updatedAt: string;
}

export interface ModelDetail {
  name: string;
  versions: { version: number; metrics?: Record<string, number>; source: string; createdAt: string }[];
  aliases: Record<string, number>;
}

export interface ModelVersion {
  name: string;
  version: number;
  spec: { cell: string; inputSize: number; hiddenSize: number; numLayers: number; bidirectional: boolean; outputSize: number; vocabularySize?: number };
  task: { kind: string; [key: string]: unknown };
  preprocessing: Record<string, any>;
  metrics?: Record<string, number>;
  parameterCount: number;
  source: string;
  device?: string;
  createdAt: string;
}

export interface EvaluatedWindow {
  series: string;
  start: number;
  startTime?: string;
  history: number[][];
  actual: number[][];
  forecast: number[][];
  quantiles?: Record<string, number[][]>;
}

export interface Evaluation {
  kind: "classes" | "numbers" | "forecast";
  count: number;
  labels?: string[];
  confusion?: number[][];
  points?: number[][];
  targets?: string[];
  quantiles?: number[];
  windows?: EvaluatedWindow[];
}

export interface PredictOutput {
  forecast?: number[][];
  quantiles?: Record<string, number[][]>;
  label?: number;
  labels?: number[];
  probabilities?: number[] | number[][];
  values?: number[] | number[][];
  states?: { forward: number[][]; backward?: number[][] };
  tokens?: string[];
}

export interface StateMatch {
  sequence: number;
  series?: string;
  start: number;
  end: number;
  score: number;
  contextStart: number;
  steps: string[];
}

export interface StateMatches {
  datasetId: string;
  searchedSequences: number;
  searchedSteps: number;
  truncated: boolean;
  matches: StateMatch[];
}

/** How a version reads its inputs: texts, token lists, or numbers (sequences and series). */
export type InputKind = "texts" | "tokens" | "numbers";

export function inputKind(version: ModelVersion): InputKind {
  const p = version.preprocessing;
  if (p.vocabulary) return p.tokenizer === "tokens-as-given" ? "tokens" : "texts";
  return "numbers";
}
