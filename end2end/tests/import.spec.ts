import { test, expect, type Page } from "@playwright/test";

const password = "a long and private passphrase";

test.use({ timezoneId: "America/Los_Angeles" });

async function hydrated(page: Page) {
  await expect(page.locator("[data-hydrated=true]")).toHaveCount(1);
}

async function fits(page: Page) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
}

test("import a CSV file: preview, map the columns, watch the progress bar reach 100%", async ({ page, baseURL }) => {
  const origin = new URL(baseURL!).origin;
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  const email = `importer-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.org`;
  const signup = await page.request.post(`${origin}/api/signup`, {
    headers: { Origin: origin, Accept: "application/json" },
    form: { email, display_name: "Ida Importer", password, time_zone: "America/Los_Angeles" },
  });
  expect(signup.status()).toBe(200);

  // Two months of a morning routine: one row per day, a column per metric.
  let csv = "Date,Steps,Weight (lb),Mood,Notes\n";
  for (let day = 0; day < 60; day++) {
    const date = new Date(Date.UTC(2026, 8, 1 + day)).toISOString().slice(0, 10);
    csv += `${date},${6000 + day * 50},${170 - day / 10},${1 + (day % 9)},${day % 10 === 0 ? "\"long walk, #hills\"" : ""}\n`;
  }
  csv += "2026-10-31,lots,,,\n";

  await page.goto("/track");
  await hydrated(page);
  await page.getByRole("link", { name: "Import a CSV file" }).click();
  await expect(page).toHaveURL(/\/track\/import$/);
  await fits(page);
  await page.getByLabel("CSV file, or Apple Health's export.xml (up to 256 MB)").setInputFiles({
    name: "routine.csv",
    mimeType: "text/csv",
    buffer: Buffer.from(csv),
  });
  await page.getByRole("button", { name: "Upload and preview" }).click();
  await expect(page).toHaveURL(/\/track\/import\/\d+$/);
  await hydrated(page);
  await fits(page);
  await expect(page.getByRole("heading", { name: "routine.csv" })).toBeVisible();
  // The guessed mapping: a date column and a column per metric.
  await expect(page.getByLabel("Column 1: Date")).toHaveValue("time");
  await expect(page.getByLabel("Column 2: Steps")).toHaveValue("m:steps");
  await expect(page.getByLabel("Column 3: Weight (lb)")).toHaveValue("m:weight");
  await expect(page.getByLabel("Column 5: Notes")).toHaveValue("note");
  await expect(page.locator("table.preview tbody tr")).toHaveCount(8);

  await page.getByRole("button", { name: "Import" }).click();
  const bar = page.getByRole("progressbar", { name: "Import progress" });
  await expect(bar).toBeVisible();
  await expect(bar).toHaveAttribute("value", "100.0", { timeout: 20_000 });
  await expect(page.locator(".import-progress .status")).toHaveText("done");
  await expect(page.locator(".import-progress .counts")).toHaveText(
    "61 rows read · 180 added · 0 already there · 1 not imported",
  );
  await expect(page.locator(".import-errors li")).toHaveText(["Line 62: “lots” is not a number."]);
  await fits(page);

  // The imported days are in the history.
  await page.getByRole("link", { name: "See what you logged" }).click();
  await hydrated(page);
  await page.locator('.metric-list a[href="/track/steps"]').click();
  await hydrated(page);
  await expect(page.locator(".history-count")).toHaveText("60 entries");
  expect(errors).toEqual([]);
});
