// Small DOM helpers: the console builds its pages from plain elements, no framework.

export type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number | boolean | EventListener | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (typeof value === "function") element.addEventListener(name.replace(/^on/, ""), value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  append(element, ...children);
  return element;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
}

export function clear(element: Element): void {
  while (element.firstChild) element.removeChild(element.firstChild);
}

const problemBox = () => document.getElementById("problem")!;

/** Shows an error (a ProblemDetails already made readable by api.ts) at the top of the page until the next action. */
export function showProblem(error: unknown): void {
  const box = problemBox();
  box.textContent = error instanceof Error ? error.message : String(error);
  box.hidden = false;
}

export function hideProblem(): void {
  problemBox().hidden = true;
}

/** Runs an action; a failure is shown, not thrown. */
export async function attempt(action: () => Promise<void>): Promise<void> {
  hideProblem();
  try {
    await action();
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") return;
    showProblem(error);
  }
}

export function number(value: number | null | undefined, digits = 4): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  if (Number.isInteger(value)) return value.toLocaleString("en");
  return Math.abs(value) >= 1000 ? value.toFixed(1) : value.toPrecision(digits);
}

export function time(value: string | null | undefined): string {
  return value ? new Date(value).toLocaleString() : "–";
}

export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "–";
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  return minutes < 60 ? `${minutes} min ${Math.round(seconds % 60)} s` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export function badge(state: string): HTMLElement {
  return h("span", { class: `badge ${state}` }, state);
}

export function table(headings: string[], rows: Child[][], className = ""): HTMLTableElement {
  return h(
    "table",
    { class: className },
    h("thead", {}, h("tr", {}, ...headings.map((heading) => h("th", {}, heading)))),
    h("tbody", {}, ...rows.map((row) => h("tr", {}, ...row.map((cell) => h("td", {}, cell))))),
  );
}

/** A definition list of name → value pairs. */
export function facts(pairs: [string, Child][]): HTMLElement {
  return h("dl", { class: "facts" }, ...pairs.flatMap(([name, value]) => [h("dt", {}, name), h("dd", {}, value)]));
}

/** Horizontal bars for counts (histograms, label counts): readable at any width, no chart needed. */
export function bars(items: { label: string; count: number }[], testId: string): HTMLElement {
  const most = Math.max(1, ...items.map((item) => item.count));
  return h(
    "div",
    { class: "bars", "data-testid": testId },
    ...items.map((item) =>
      h(
        "div",
        { class: "bar-row" },
        h("span", { class: "bar-label" }, item.label),
        h("span", { class: "bar-track" }, h("span", { class: "bar", style: `width:${(100 * item.count) / most}%` })),
        h("span", { class: "bar-count" }, number(item.count)),
      ),
    ),
  );
}
