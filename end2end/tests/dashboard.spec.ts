import { test, expect, type Page } from "@playwright/test";

const password = "a long and private passphrase";

test.use({ timezoneId: "Europe/Lisbon" });

function uniqueEmail(prefix: string) {
  return `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.org`;
}

/** The page fits the screen: no sideways scrolling on a phone. */
async function fits(page: Page) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
}

test("the dashboard: an empty start, then a card with its sparkline once something is logged", async ({ page, baseURL }) => {
  const origin = new URL(baseURL!).origin;
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  const headers = { Origin: origin, Accept: "application/json" };
  const signup = await page.request.post(`${origin}/api/signup`, {
    headers,
    form: { email: uniqueEmail("dash"), display_name: "Dana Dashboard", password, time_zone: "Europe/Lisbon" },
  });
  expect(signup.status()).toBe(200);

  // Nothing logged yet: the page says how to start.
  await page.goto("/");
  await page.getByRole("navigation", { name: "Site" }).getByRole("link", { name: "Dashboard", exact: true }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByRole("heading", { name: "Hello, Dana Dashboard" })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Start with one number" })).toBeVisible();
  await fits(page);

  // Three days of sleep; the pipeline runs in the background, so look again until it has.
  for (const [day, hours] of [["1", "7"], ["2", "6.5"], ["3", "8"]]) {
    const logged = await page.request.post(`${origin}/api/log_entry`, {
      headers,
      form: { metric: "sleep", value: hours, unit: "h", key: `dash-${day}` },
    });
    expect(logged.status()).toBe(200);
  }
  await expect(async () => {
    await page.reload();
    await expect(page.locator(".card")).toHaveCount(1, { timeout: 1000 });
  }).toPass({ timeout: 20_000 });
  const card = page.locator(".card");
  await expect(card.getByRole("heading", { name: "Sleep" })).toBeVisible();
  await expect(card.locator(".card-value")).toContainText("today");
  const chart = card.getByRole("img");
  await expect(chart).toHaveAttribute("aria-label", /^Sleep over the last 28 days: 1 day logged, mean /);
  await expect(card.locator("path.spark-line")).toHaveAttribute("d", /^M/);
  await expect(page.getByRole("heading", { name: "What your data says" })).toBeVisible();
  await fits(page);
  await page.screenshot({ path: test.info().outputPath("dashboard.png"), fullPage: true });

  // The card leads to the metric's page.
  await card.getByRole("link", { name: "Sleep" }).click();
  await expect(page).toHaveURL(/\/track\/sleep$/);
  expect(errors).toEqual([]);
});
