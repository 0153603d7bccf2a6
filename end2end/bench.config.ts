import { defineConfig } from "@playwright/test";
import base from "./playwright.config";

// The browser benchmarks (`*.bench.ts`), not part of the test command:
//   cd end2end && npx playwright test --config bench.config.ts
export default defineConfig({
  ...base,
  testMatch: /.*\.bench\.ts$/,
  timeout: 300_000,
  projects: base.projects!.filter((project) => project.name === "desktop"),
});
