// The console and Swagger UI in a real browser (Debian's Chromium driven by playwright-core), against a running
// service: node tests/console.mjs <service URL> <screenshots folder> <API key>
// Each step says what it checks; the first failure ends the run with exit code 1 and a screenshot of the page.
import { chromium } from "playwright-core";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";

const [base, shots, key] = process.argv.slice(2);
if (!base || !shots || !key) {
  console.error("usage: node tests/console.mjs <service URL> <screenshots folder> <API key>");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
const started = Date.now();
const say = (message) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${message}`);
const check = (condition, message) => {
  if (!condition) throw new Error(`check failed: ${message}`);
};

// Data: short texts whose label is whether a positive word is in them, and a seasonal monthly series.
function random(seed) {
  let state = seed;
  return () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648);
}
const next = random(7);
const filler = ["the", "film", "was", "a", "plot", "actor", "scene", "and", "story", "very", "it", "music", "long", "with"];
const positive = ["good", "great", "fine", "lovely"];
const negative = ["bad", "dull", "awful", "boring"];
const lines = [];
for (let i = 0; i < 1200; i++) {
  const words = Array.from({ length: 6 + Math.floor(next() * 10) }, () => filler[Math.floor(next() * filler.length)]);
  const label = i % 2;
  const pool = label ? positive : negative;
  words.splice(Math.floor(next() * words.length), 0, pool[Math.floor(next() * pool.length)]);
  lines.push(JSON.stringify({ text: words.join(" "), label }));
}
const folder = join(tmpdir(), `rnnservice-console-${process.pid}`);
mkdirSync(folder, { recursive: true });
const textsFile = join(folder, "reviews.jsonl");
writeFileSync(textsFile, lines.join("\n") + "\n");
const rows = ["month,passengers"];
for (let t = 0; t < 120; t++) {
  const month = `${1949 + Math.floor(t / 12)}-${String((t % 12) + 1).padStart(2, "0")}`;
  rows.push(`${month},${(120 + 2 * t + 30 * Math.sin((2 * Math.PI * t) / 12) + 5 * next()).toFixed(1)}`);
}
const seriesFile = join(folder, "passengers.csv");
writeFileSync(seriesFile, rows.join("\n") + "\n");

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
const page = await context.newPage();
page.setDefaultTimeout(30_000);
const problems = [];
page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
const shot = async (name) => {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  say(`screenshot ${name}.png`);
};
const problemText = () => page.locator("#problem").textContent();

async function waitForJob(id, seconds) {
  for (let i = 0; i < seconds * 2; i++) {
    const job = await page.evaluate(async ([id, key]) => (await fetch(`/training-jobs/${id}`, { headers: { "X-Api-Key": key } })).json(), [id, key]);
    if (["succeeded", "failed", "cancelled"].includes(job.state)) return job;
    await page.waitForTimeout(500);
  }
  throw new Error(`job ${id} did not end in ${seconds} s`);
}

try {
  // 1. The key: without it the API's 401 is shown as a readable message; typed once, every page works.
  await page.goto(`${base}/ui/`);
  await page.locator("#problem").waitFor({ state: "visible" });
  check((await problemText()).startsWith("401"), `a 401 problem is shown without a key: ${await problemText()}`);
  say(`without a key: "${await problemText()}"`);
  await page.fill("#api-key", key);
  await page.click("#key-form button");
  await page.locator("[data-testid=upload-form]").waitFor();
  check(await page.locator("#problem").isHidden(), "the problem goes once the key is typed");

  // 2. Upload texts; the dataset page shows lengths and labels.
  await page.setInputFiles("[data-testid=dataset-file]", textsFile);
  await page.click("[data-testid=upload-form] button");
  await page.locator("[data-testid=length-histogram]").waitFor();
  check((await page.locator("[data-testid=label-counts] .bar-row").count()) === 2, "two label bars");
  await shot("dataset-texts");

  // 3. Train from the dataset page's link; the loss curve grows while the job runs, with progress inside the epoch.
  await page.click("text=Train a model on it");
  await page.locator("[data-testid=job-form]").waitFor();
  await page.fill("[data-testid=job-model-name]", "reviews");
  await page.fill("[data-testid=job-settings]", JSON.stringify({ model: { hiddenSize: 24, embeddingDim: 16 }, training: { epochs: 30, batchSize: 16, earlyStoppingPatience: 20, learningRate: 0.01 } }));
  await page.click("[data-testid=job-form] button");
  await page.locator("[data-testid=loss-chart] canvas").first().waitFor();
  const jobId = decodeURIComponent(page.url().split("#/jobs/")[1]);
  say(`job ${jobId}`);
  const seen = [];
  for (let i = 0; i < 240 && seen.length < 2; i++) {
    const state = (await page.locator("[data-testid=job-state]").textContent()).trim();
    const epochs = Number((await page.locator("[data-testid=epoch-count]").textContent()).split(" ")[0]);
    if (state === "running" && epochs >= 1 && !seen.includes(epochs)) seen.push(epochs);
    if (state !== "running" && state !== "queued") break;
    await page.waitForTimeout(250);
  }
  check(seen.length >= 2 && seen[1] > seen[0], `the curve grew while the job ran (epochs seen while running: ${seen.join(", ")})`);
  say(`epochs seen on the curve while running: ${seen.join(", ")}`);
  await shot("job-running");
  const job = await waitForJob(jobId, 300);
  check(job.state === "succeeded", `the job succeeded (${job.state}: ${job.error ?? ""})`);
  await page.locator("[data-testid=job-model-link]").waitFor();
  check((await page.locator("[data-testid=job-state]").textContent()).trim() === "succeeded", "the page shows it succeeded");
  await shot("job-succeeded");

  // 4. The version: metrics and a confusion matrix.
  await page.click("[data-testid=job-model-link]");
  await page.locator("[data-testid=confusion-matrix]").waitFor();
  await shot("model-classification");

  // 5. Predict; a bad request's ProblemDetails is shown readably.
  await page.goto(`${base}/ui/#/predict?model=reviews:1`);
  await page.locator("[data-testid=predict-input][data-ready]").waitFor();
  await page.fill("[data-testid=predict-input]", "a great film with lovely music\nthe plot was dull and boring");
  await page.click("[data-testid=predict-submit]");
  await page.locator("[data-testid=predict-result] table").waitFor();
  const answers = await page.locator("[data-testid=predict-result] td:nth-child(2)").allTextContents();
  check(answers.length === 2 && answers.every((a) => a.startsWith("label")), `two labels: ${answers}`);
  say(`predicted: ${answers.join(" | ")}`);
  await shot("predict");
  await page.fill("[data-testid=predict-input]", "");
  await page.click("[data-testid=predict-submit]");
  await page.locator("#problem").waitFor({ state: "visible" });
  const message = await problemText();
  check(message.startsWith("400") && message.includes("texts"), `a 400 naming the field: ${message}`);
  say(`bad input: "${message}"`);

  // 6. The explorer: states as a heatmap, a range and threshold pick units, the match view finds ranges in the dataset.
  await page.goto(`${base}/ui/#/explorer/reviews/1`);
  await page.locator("[data-testid=explorer-input][data-ready]").waitFor();
  await page.fill("[data-testid=explorer-input]", "the film was great and the music lovely");
  await page.click("[data-testid=explore-run]");
  // The page showed its sample first: wait for this text's columns, one per token.
  const tokens = "the film was great and the music lovely";
  await page.waitForFunction(
    (expected) => [...document.querySelectorAll("[data-testid=step-labels] .step")].map((s) => s.textContent).join(" ") === expected,
    tokens,
    { timeout: 30_000 },
  );
  check((await page.locator("[data-testid=step-labels] .step").count()) === 8, "one column per token");
  await page.fill("[data-testid=range-from]", "3");
  await page.fill("[data-testid=range-to]", "4");
  await page.fill("[data-testid=threshold]", "0.1");
  const units = await page.locator("[data-testid=units-on] .chip").count();
  check(units > 0, "units are on over the range");
  say(`${units} units on over steps 3-4`);
  await page.click("[data-testid=find-matches]");
  await page.locator("[data-testid=matches] .match").first().waitFor();
  const matches = await page.locator("[data-testid=matches] .match").count();
  check(matches > 0, "matches in the dataset");
  say(`${matches} matches; the first: ${await page.locator("[data-testid=matches] .match").first().textContent()}`);
  await shot("explorer");

  // 7. A forecast with quantiles: forecast against actuals with its band.
  await page.goto(`${base}/ui/#/datasets`);
  await page.setInputFiles("[data-testid=dataset-file]", seriesFile);
  await page.click("[data-testid=upload-form] button");
  await page.locator("[data-testid=series-chart] canvas").first().waitFor();
  await shot("dataset-series");
  await page.click("text=Train a model on it");
  await page.fill("[data-testid=job-model-name]", "passengers");
  await page.fill("[data-testid=job-settings]", JSON.stringify({ task: { quantiles: [0.1, 0.5, 0.9] }, model: { hiddenSize: 16 }, training: { epochs: 8 } }));
  await page.click("[data-testid=job-form] button");
  await page.locator("[data-testid=loss-chart]").waitFor();
  const forecastJob = await waitForJob(decodeURIComponent(page.url().split("#/jobs/")[1]), 300);
  check(forecastJob.state === "succeeded", `the forecast job succeeded (${forecastJob.state}: ${forecastJob.error ?? ""})`);
  await page.goto(`${base}/ui/#/models/passengers/1`);
  await page.locator("[data-testid=forecast-chart] canvas").first().waitFor();
  await shot("model-forecast");

  // 8. A tuning job's trials and curves.
  const tuning = await page.evaluate(async (key) => (await fetch("/tuning-jobs", {
    method: "POST", headers: { "Content-Type": "application/json", "X-Api-Key": key },
    body: JSON.stringify({ datasetId: "passengers", modelName: "passengers-tuned", task: { kind: "forecast" }, training: { epochs: 3 }, search: { maxTrials: 2, maxParallel: 1 } }),
  })).json(), key);
  check(typeof tuning.id === "string", `a tuning job: ${JSON.stringify(tuning)}`);
  await page.goto(`${base}/ui/#/tuning/${tuning.id}`);
  for (let i = 0; i < 240; i++) {
    const text = await page.locator("h1").first().textContent();
    if (/succeeded|failed|cancelled/.test(text)) break;
    await page.waitForTimeout(500);
  }
  check((await page.locator("h1").first().textContent()).includes("succeeded"), "the tuning job succeeded");
  check((await page.locator("table.list tbody tr").count()) === 2, "two trials listed");
  await page.locator("[data-testid=trial-chart] canvas").first().waitFor();
  await shot("tuning");
  await page.goto(`${base}/ui/#/models`);
  await page.locator("table.list").waitFor();
  await shot("models");

  // 9. A phone: every page fits its width.
  await page.setViewportSize({ width: 390, height: 844 });
  for (const [name, hash, ready] of [
    ["phone-datasets", "#/datasets", "[data-testid=upload-form]"],
    ["phone-job", `#/jobs/${jobId}`, "[data-testid=loss-chart] canvas"],
    ["phone-model", "#/models/passengers/1", "[data-testid=forecast-chart] canvas"],
    ["phone-explorer", "#/explorer/reviews/1", "[data-testid=explorer-input][data-ready]"],
  ]) {
    await page.goto(`${base}/ui/${hash}`);
    await page.locator(ready).first().waitFor();
    await page.waitForTimeout(300);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 1, `${name}: the page is ${overflow}px wider than the phone`);
    await shot(name);
  }
  await page.setViewportSize({ width: 1280, height: 800 });

  // 10. Swagger UI's own "Try it out": upload, train and predict with the document's examples.
  const swagger = await context.newPage();
  swagger.setDefaultTimeout(30_000);
  await swagger.goto(`${base}/swagger/index.html`);
  await swagger.locator(".swagger-ui .opblock").first().waitFor();
  await swagger.click("button.authorize");
  await swagger.locator(".modal-ux input[type=text], .modal-ux input[type=password]").first().fill(key);
  await swagger.click(".modal-ux button.authorize");
  await swagger.click(".modal-ux button.close-modal");
  const tryOperation = async (operationId, contentType, expected) => {
    const block = swagger.locator(`#operations-${operationId}`);
    await block.locator(".opblock-summary").first().click();
    await block.locator("button.try-out__btn").click();
    if (contentType) {
      await block.locator(".opblock-section-request-body select").first().selectOption(contentType);
      await block.locator(".opblock-section-request-body textarea.body-param__text").waitFor();
      say(`Swagger UI body: ${JSON.stringify((await block.locator(".opblock-section-request-body textarea.body-param__text").inputValue()).slice(0, 200))}`);
    }
    await block.locator("button.execute").click();
    const status = block.locator(".live-responses-table .response .response-col_status").first();
    await status.waitFor();
    const code = (await status.textContent()).trim();
    check(code === String(expected), `${operationId} answered ${code}, not ${expected}: ${(await block.locator(".live-responses-table .response-col_description pre").first().textContent()).slice(0, 400)}`);
    say(`Swagger UI: ${operationId} → ${code}`);
    return block;
  };
  await tryOperation("Datasets-UploadDataset", null, 201);
  const created = await tryOperation("Training_jobs-CreateTrainingJob", null, 202);
  const body = await created.locator(".live-responses-table .response-col_description pre").first().textContent();
  const exampleJob = JSON.parse(body).id;
  const ended = await waitForJob(exampleJob, 300);
  check(ended.state === "succeeded", `the example's job succeeded (${ended.state})`);
  await tryOperation("Predict-Predict", null, 200);
  await swagger.screenshot({ path: join(shots, "swagger-try-it-out.png"), fullPage: false });
  check(problems.length === 0, `no script errors in the console's pages: ${problems.join("; ")}`);
  say("all checks passed");
} catch (error) {
  console.error(String(error?.stack ?? error));
  await page.screenshot({ path: join(shots, "failure.png"), fullPage: true }).catch(() => {});
  await browser.close();
  process.exit(1);
}
await browser.close();
