import { test, expect, type Page } from "@playwright/test";

const password = "a long and private passphrase";

test.use({ timezoneId: "America/Los_Angeles" });

function uniqueEmail(prefix: string) {
  return `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.org`;
}

/** A new member, logged in on `page`, in Los Angeles's time zone. */
async function signUp(page: Page, origin: string, name: string) {
  const signup = await page.request.post(`${origin}/api/signup`, {
    headers: { Origin: origin, Accept: "application/json" },
    form: { email: uniqueEmail(name.split(" ")[0].toLowerCase()), display_name: name, password, time_zone: "America/Los_Angeles" },
  });
  expect(signup.status()).toBe(200);
}

async function hydrated(page: Page) {
  await expect(page.locator("[data-hydrated=true]")).toHaveCount(1);
}

/** The page fits the screen: no sideways scrolling on a phone. */
async function fits(page: Page) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
}

test("log from the quick-log page: one tap, one number, a clear error that keeps the typing", async ({ page, baseURL }) => {
  const origin = new URL(baseURL!).origin;
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await signUp(page, origin, "Tess Tracker");

  await page.goto("/track");
  await hydrated(page);
  await fits(page);
  await expect(page.getByText("Times are in America/Los_Angeles.")).toBeVisible();

  // Mood is a scale: one tap logs it.
  const mood = page.locator('.log-card[data-metric="mood"]');
  await mood.getByRole("button", { name: "7", exact: true }).click();
  await expect(page.locator(".log-result")).toHaveText("Logged Mood: 7.");
  const recent = page.locator(".recent-list .recent-item").first();
  await expect(recent).toContainText("Mood");
  await expect(recent).toContainText("7");
  await expect(recent).toHaveAttribute("data-status", "logged");

  // Steps: one number, typed the way people type it.
  const steps = page.locator('.log-card[data-metric="steps"]');
  await steps.getByLabel("Steps value").fill("8,500");
  await steps.getByRole("button", { name: "Log" }).click();
  await expect(page.locator(".log-result")).toHaveText("Logged Steps: 8500 steps.");
  await expect(steps.locator(".latest")).toContainText("8500 steps");

  // A typo is refused with the reason, and what was typed stays in the box.
  const weight = page.locator('.log-card[data-metric="weight"]');
  await weight.getByLabel("Weight value").fill("seventy");
  await weight.getByRole("button", { name: "Log" }).click();
  await expect(page.locator(".log-result")).toHaveText("“seventy” is not a number.");
  await expect(weight.getByLabel("Weight value")).toHaveValue("seventy");
  // Fixed, in pounds, with a note and its #tag.
  await weight.getByLabel("Weight value").fill("154");
  await weight.getByLabel("Weight unit").selectOption("lb");
  await weight.getByText("Time & note").click();
  await weight.getByLabel("Note").fill("after the hike #trail");
  await weight.getByRole("button", { name: "Log" }).click();
  await expect(page.locator(".log-result")).toHaveText("Logged Weight: 69.9 kg.");
  await fits(page);

  // The history of a metric lists it, in the member's zone.
  await page.locator('.metric-list a[href="/track/weight"]').click();
  await expect(page).toHaveURL(/\/track\/weight$/);
  await hydrated(page);
  await fits(page);
  const entry = page.locator(".entries .entry").first();
  await expect(entry.locator(".value")).toHaveText("69.9 kg");
  await expect(entry).toContainText("today");
  await expect(entry.locator(".note")).toHaveText("after the hike #trail");
  expect(errors).toEqual([]);
});

test("the quick log loaded on its own runs on its small island: pin, a new metric's reasons beside its fields, log out", async ({ page, baseURL }) => {
  const origin = new URL(baseURL!).origin;
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  const code: string[] = [];
  page.on("request", (request) => {
    const path = new URL(request.url()).pathname;
    if (/\.(wasm|js)$/.test(path)) code.push(path);
  });
  await signUp(page, origin, "Ivy Island");

  await page.goto("/track");
  await hydrated(page);
  // The island's two files, not the app's bundle (README, "Front-end weight").
  expect(code.sort()).toEqual(["/pkg/quicklog.js", "/pkg/quicklog_bg.wasm"]);

  // A second tap while the first is on its way is not sent again; and when the page
  // does not come back after a stored log, it says so rather than that the log failed.
  let sent = 0;
  await page.route("**/api/log_entry", async (route) => {
    sent += 1;
    await new Promise((resolve) => setTimeout(resolve, 300));
    await route.continue();
  });
  await page.route("**/track", (route) => (route.request().resourceType() === "fetch" ? route.abort() : route.continue()));
  const energy = page.locator('.log-card[data-metric="energy"]');
  await energy.getByRole("button", { name: "3", exact: true }).click();
  await energy.getByRole("button", { name: "4", exact: true }).click();
  await expect(page.locator(".log-result")).toHaveText("Logged Energy: 3. Reload the page to see it.");
  expect(sent).toBe(1);
  await page.unrouteAll();
  await page.reload();
  await hydrated(page);
  await expect(page.locator(".recent-list .recent-item").first()).toContainText("Energy");

  // Pinned, a metric gets its card, and logs from it; unpinned, the card goes.
  const alcohol = page.locator('.metric-list li[data-metric="alcohol"]');
  await alcohol.getByRole("button", { name: "Pin" }).click();
  const card = page.locator('.log-card[data-metric="alcohol"]');
  await expect(card).toHaveCount(1);
  await card.getByLabel("Alcohol value").fill("2");
  await card.getByRole("button", { name: "Log" }).click();
  await expect(page.locator(".log-result")).toHaveText("Logged Alcohol: 2 drinks.");
  await expect(page.locator(".recent-list .recent-item").first()).toContainText("Alcohol");
  await page.locator('.metric-list li[data-metric="alcohol"]').getByRole("button", { name: "Unpin" }).click();
  await expect(card).toHaveCount(0);

  // A new metric: a reason beside the field it is about, what was typed kept; then made.
  await page.getByText("Add your own metric").click();
  await page.locator("#metric-name").fill("Cold showers");
  await page.locator("#metric-kind").selectOption({ label: "Scale (whole points between bounds)" });
  await page.getByRole("button", { name: "Add metric" }).click();
  await expect(page.locator("#metric-max + .field-error")).toHaveText("A scale needs its lowest and highest points.");
  await expect(page.locator("#metric-name")).toHaveValue("Cold showers");
  await page.locator("#metric-min").fill("1");
  await page.locator("#metric-max").fill("5");
  await page.getByRole("button", { name: "Add metric" }).click();
  await expect(page).toHaveURL(/\/track\/[a-z0-9-]+$/);
  await expect(page.locator(".metric-page h1")).toContainText("Cold showers");
  await hydrated(page);

  // Back on the quick log, "Log out" is the header's plain form.
  await page.goto("/track");
  await hydrated(page);
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page.getByRole("link", { name: "Log in" }).first()).toBeVisible();
  expect(errors).toEqual([]);
});
