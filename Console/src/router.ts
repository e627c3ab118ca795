// Hash routes (#/jobs/job_…): the service serves one index.html at /ui and every page is drawn here.
import { attempt, clear } from "./ui";

/** A page draws itself into `page`; `signal` aborts when the user leaves it (event streams stop, charts go). */
export type Page = (page: HTMLElement, params: string[], signal: AbortSignal, query: URLSearchParams) => Promise<void>;

interface Route {
  pattern: RegExp;
  page: Page;
}

const routes: Route[] = [];
let current: AbortController | undefined;

export function route(path: string, page: Page): void {
  const pattern = new RegExp("^" + path.replace(/:[a-z]+/g, "([^/]+)") + "$");
  routes.push({ pattern, page });
}

export async function render(): Promise<void> {
  current?.abort();
  const controller = new AbortController();
  current = controller;
  const [path, search] = (location.hash.replace(/^#/, "") || "/datasets").split("?");
  const element = document.getElementById("page")!;
  clear(element);
  for (const link of document.querySelectorAll<HTMLAnchorElement>("#nav a")) {
    link.classList.toggle("active", path.startsWith(link.getAttribute("href")!.slice(1)));
  }
  const match = routes.map((r) => ({ r, m: r.pattern.exec(path) })).find((x) => x.m);
  if (!match) {
    element.textContent = `No page at ${path}.`;
    return;
  }
  const params = match.m!.slice(1).map(decodeURIComponent);
  await attempt(() => match.r.page(element, params, controller.signal, new URLSearchParams(search ?? "")));
}
