import { test, expect, type Page } from "@playwright/test";

// Every error the page logs or throws: a hydration failure shows up here.
function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(`pageerror: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console: ${message.text()}`);
  });
  return errors;
}

async function hydrated(page: Page) {
  // Set by an Effect, and Effects run only in the browser once the wasm has hydrated.
  await expect(page.locator(".home")).toHaveAttribute("data-hydrated", "true");
}

test("the server-rendered HTML names the first meetup", async ({ request }) => {
  const response = await request.get("/");
  expect(response.status()).toBe(200);
  const html = await response.text();
  expect(html).toContain("QSNB Meetup v1.3");
  expect(html).toContain("6:30 PM – 8:30 PM PST");
});

test("the home page shows the seeded meetup at its local time", async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto("/");
  await hydrated(page);
  await expect(page.getByRole("heading", { level: 1, name: "Quantified Self North Bay" })).toBeVisible();
  const first = page.locator(".meetup", { hasText: "QSNB Meetup v1.3" });
  await expect(first).toBeVisible();
  await expect(first.locator(".date")).toHaveText("Tuesday, 26 February 2013");
  await expect(first.locator(".time")).toHaveText("6:30 PM – 8:30 PM PST");
  await expect(first.locator("time")).toHaveAttribute("datetime", "2013-02-27T02:30:00+00:00");
  expect(errors).toEqual([]);
});

test("filtering past and upcoming works in place once hydrated", async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto("/");
  await hydrated(page);
  // A marker on window survives client-side navigation but not a page load.
  await page.evaluate(() => ((window as any).__noReload = true));

  const upcoming = page.locator("#upcoming");
  const past = page.locator("#past");
  await expect(upcoming).toBeVisible();
  await expect(past).toBeVisible();

  await page.getByRole("link", { name: /^Past/ }).click();
  await expect(page).toHaveURL(/\?show=past$/);
  await expect(upcoming).toHaveCount(0);
  await expect(past.getByText("QSNB Meetup v1.3")).toBeVisible();
  await expect(page.getByRole("link", { name: /^Past/ })).toHaveAttribute("aria-current", "page");

  await page.getByRole("link", { name: /^Upcoming/ }).click();
  await expect(page).toHaveURL(/\?show=upcoming$/);
  await expect(past).toHaveCount(0);
  // The demo's three (other tests may have added meetups of their own).
  await expect(upcoming.locator(".meetup", { hasText: "QSNB Monthly Meetup" })).toHaveCount(3);

  await page.getByRole("link", { name: /^All/ }).click();
  await expect(past).toBeVisible();
  expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);
  expect(errors).toEqual([]);
});

test("the page fits a phone screen without sideways scrolling", async ({ page }) => {
  await page.goto("/");
  await hydrated(page);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
});

test("healthz answers with the database status", async ({ request }) => {
  const response = await request.get("/healthz");
  expect(response.status()).toBe(200);
  const body = await response.json();
  expect(body.database.status).toBe("up");
});
