import { defineConfig } from "vite";

// The console is served by the service at /ui; it calls the API on the same origin, so nothing is proxied in a build.
// `npm run dev` serves it on :5173 and forwards the API's paths to a service on :5080 (scripts/run.sh).
const api = ["/datasets", "/training-jobs", "/tuning-jobs", "/models", "/predict", "/health", "/openapi"];

export default defineConfig({
  base: "/ui/",
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 300 },
  server: { proxy: Object.fromEntries(api.map((path) => [path, "http://127.0.0.1:5080"])) },
});
