// The service's HTTP API as the console uses it: the API key typed once (kept in this browser's localStorage and sent
// as X-Api-Key), ProblemDetails turned into readable messages, and server-sent events read over fetch (EventSource
// cannot send a header).

const keyName = "rnnservice.apiKey";

export function apiKey(): string {
  return localStorage.getItem(keyName) ?? "";
}

export function setApiKey(key: string): void {
  if (key) localStorage.setItem(keyName, key);
  else localStorage.removeItem(keyName);
}

/** An RFC 9457 problem as the service writes it: title, status, detail, and per-field messages for validation. */
export interface Problem {
  title?: string;
  status?: number;
  detail?: string;
  errors?: Record<string, string[]>;
}

export class ApiError extends Error {
  constructor(readonly status: number, readonly problem: Problem) {
    super(describeProblem(status, problem));
  }
}

/** "400 The request body is not valid. — model.hiddenSize: must be at least 1." */
export function describeProblem(status: number, problem: Problem): string {
  const head = `${problem.status ?? status} ${problem.title ?? "Request failed"}`;
  const fields = Object.entries(problem.errors ?? {}).flatMap(([field, messages]) => messages.map((m) => `${field}: ${m}`));
  const parts = fields.length > 0 ? fields : problem.detail ? [problem.detail] : [];
  return parts.length > 0 ? `${head} — ${parts.join("; ")}` : head;
}

function headers(extra?: HeadersInit): Headers {
  const result = new Headers(extra);
  const key = apiKey();
  if (key) result.set("X-Api-Key", key);
  return result;
}

async function fail(response: Response): Promise<never> {
  let problem: Problem = {};
  try {
    const text = await response.text();
    problem = text ? (JSON.parse(text) as Problem) : {};
  } catch {
    problem = { detail: response.statusText };
  }
  if (response.status === 401 && !problem.detail) problem.detail = "this service needs an API key: type it in the box at the top.";
  throw new ApiError(response.status, problem);
}

/** A page of a list as the API answers it: newest first, with the cursor of the next page. */
export interface Paged<T> {
  items: T[];
  next: string | null;
}

/** The first page of a list: the console shows at most this many of each. */
export async function list<T>(path: string, limit = 200): Promise<T[]> {
  const separator = path.includes("?") ? "&" : "?";
  return (await get<Paged<T>>(`${path}${separator}limit=${limit}`)).items;
}

export async function get<T>(path: string): Promise<T> {
  const response = await fetch(path, { headers: headers() });
  if (!response.ok) return fail(response);
  return (await response.json()) as T;
}

export async function post<T>(path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method: "POST",
    headers: headers({ "Content-Type": "application/json" }),
    body: body === undefined ? "{}" : JSON.stringify(body),
  });
  if (!response.ok) return fail(response);
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export async function upload<T>(path: string, form: FormData): Promise<T> {
  const response = await fetch(path, { method: "POST", headers: headers(), body: form });
  if (!response.ok) return fail(response);
  return (await response.json()) as T;
}

/** Downloads a file through fetch (so that the key goes with it) and hands it to the browser under its name. */
export async function download(path: string, name: string): Promise<void> {
  const response = await fetch(path, { headers: headers() });
  if (!response.ok) return fail(response);
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * Follows a text/event-stream until it ends or `signal` aborts; each event is handed over with its name and parsed
 * JSON data. Resolves when the server closes the stream (the job ended).
 */
export async function follow(path: string, onEvent: (name: string, data: any) => void, signal: AbortSignal): Promise<void> {
  const response = await fetch(path, { headers: headers({ Accept: "text/event-stream" }), signal });
  if (!response.ok || !response.body) return fail(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
      }
      if (data.length > 0) onEvent(name, JSON.parse(data.join("\n")));
    }
  }
}
