/** The demo organizer's log-in and the page-ready wait, shared by the specs that use the demo's data. */
import { expect, type Page } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { join, resolve } from "node:path";

const repo = resolve(__dirname, "../..");
const bin = process.env.COHORT_BIN ?? join(repo, "target/release/cohort");

/**
 * The demo organizer, logged in: the password is the one `cohort seed-demo
 * --reset-demo-password` prints, as an operator would get it.
 */
let demo: { email: string; password: string } | undefined;
export function demoLogin() {
  if (!demo) {
    const out = execFileSync(bin, ["seed-demo", "--data-dir", process.env.COHORT_E2E_DATA_DIR!, "--reset-demo-password"], {
      encoding: "utf8",
    });
    const found = out.match(/Demo log-in: (\S+@demo\.cohort\.invalid) \(organizer\).*password (\S+)/);
    expect(found, out).not.toBeNull();
    demo = { email: found![1], password: found![2] };
  }
  return demo;
}

export async function logIn(page: Page, baseURL: string) {
  const { email, password } = demoLogin();
  const origin = new URL(baseURL).origin;
  const response = await page.request.post(`${origin}/api/login`, {
    headers: { Origin: origin, Accept: "application/json" },
    form: { email, password },
  });
  expect(response.status()).toBe(200);
}

/** The page's code has loaded and hydrated it (set by `app/hydrate/`). */
export async function hydrated(page: Page) {
  await page.waitForFunction(() => (window as any).__cohortHydrated === true);
}

