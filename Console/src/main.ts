import "./style.css";
import { apiKey, setApiKey } from "./api";
import { render, route } from "./router";
import { datasetPage, datasetsPage } from "./pages/datasets";
import { jobPage, jobsPage } from "./pages/jobs";
import { tuningListPage, tuningPage } from "./pages/tuning";
import { modelPage, modelsPage, versionPage } from "./pages/models";
import { predictPage } from "./pages/predict";
import { explorerPage } from "./pages/explorer";

route("/datasets", datasetsPage);
route("/datasets/:id", datasetPage);
route("/jobs", jobsPage);
route("/jobs/:id", jobPage);
route("/tuning", tuningListPage);
route("/tuning/:id", tuningPage);
route("/models", modelsPage);
route("/models/:name", modelPage);
route("/models/:name/:version", versionPage);
route("/predict", predictPage);
route("/explorer/:name/:version", explorerPage);

// The API key: typed once, kept in this browser, sent with every call as X-Api-Key.
const keyInput = document.getElementById("api-key") as HTMLInputElement;
keyInput.value = apiKey();
document.getElementById("key-form")!.addEventListener("submit", (event) => {
  event.preventDefault();
  setApiKey(keyInput.value.trim());
  void render();
});

window.addEventListener("hashchange", () => void render());
void render();
