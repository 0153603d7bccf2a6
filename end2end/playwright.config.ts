import { defineConfig, devices } from "@playwright/test";
import { mkdtempSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

// The release build under test: .ci/test builds it and says where it is.
const repo = resolve(__dirname, "..");
const bin = process.env.COHORT_BIN ?? join(repo, "target/release/cohort");
const siteRoot = process.env.LEPTOS_SITE_ROOT ?? join(repo, "target/site");
const port = Number(process.env.COHORT_E2E_PORT ?? 3107);
const baseURL = `http://127.0.0.1:${port}`;

// A fresh data directory, reachable by the PostgreSQL user when the tests run as root.
const dataDir = process.env.COHORT_E2E_DATA_DIR ?? mkdtempSync(join(tmpdir(), "cohort-e2e-"));
chmodSync(dataDir, 0o711);
// Tests run `cohort admin grant` against the same data directory.
process.env.COHORT_E2E_DATA_DIR = dataDir;

export default defineConfig({
  testDir: "./tests",
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL,
    trace: "retain-on-failure",
    launchOptions: {
      // Debian's Chromium; never a downloaded browser.
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  projects: [
    { name: "desktop", use: { ...devices["Desktop Chrome"], channel: undefined } },
    { name: "phone", use: { ...devices["Pixel 7"], channel: undefined } },
  ],
  webServer: {
    command: `"${bin}" serve --data-dir "${dataDir}" --addr 127.0.0.1:${port} --site-root "${siteRoot}"`,
    cwd: repo,
    url: `${baseURL}/healthz`,
    timeout: 120_000,
    reuseExistingServer: false,
    stdout: "pipe",
    stderr: "pipe",
    // SIGTERM lets cohort stop its PostgreSQL cleanly.
    gracefulShutdown: { signal: "SIGTERM", timeout: 30_000 },
  },
});
