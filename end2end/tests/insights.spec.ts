import { test, expect, type Page } from "@playwright/test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import AxeBuilder from "@axe-core/playwright";
import { hydrated, logIn } from "./demo";

/** The page's insights, once the pipeline has computed the demo's (it runs in the background). */
async function dashboardWithInsights(page: Page) {
  await expect(async () => {
    await page.goto("/dashboard");
    await expect(page.locator(".insight").first()).toBeVisible({ timeout: 1000 });
  }).toPass({ timeout: 60_000 });
}

test("the demo organizer sees insights, opens one's evidence and says it was useful", async ({ page, baseURL }) => {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto("/");
  await logIn(page, baseURL!);
  await dashboardWithInsights(page);
  const insight = page.locator(".insight").first();
  await expect(insight.locator(".sentence")).toContainText(/ r = /);
  await hydrated(page);

  await insight.getByRole("link", { name: "See the data" }).click();
  await expect(page).toHaveURL(/\/insights\/[^/]+\/[^/]+\/\d$/);
  await hydrated(page);
  const chart = page.locator("figure.scatter-chart svg");
  await expect(chart).toHaveAttribute("aria-label", /^Each dot is one of \d+ days/);
  const dots = await page.locator("circle.chart-dot").count();
  expect(dots).toBeGreaterThanOrEqual(14);
  await expect(page.locator("path.chart-fit")).toHaveCount(1);
  await expect(page.getByText("Shown as an insight")).toBeVisible();
  // The data behind the chart: a row per dot.
  await page.getByText("Show the data").click();
  await expect(page.locator(".chart-data tbody tr")).toHaveCount(dots);
  // Recomputed in the browser over every day tested, r is the pipeline's stored r; over
  // fewer days it changes, and the chosen days are outlined.
  const storedR = (await page.locator(".test-numbers div", { hasText: "Pearson r" }).locator("strong").innerText()).trim();
  await expect(page.locator(".brush-numbers div", { hasText: "Pearson r" }).locator("dd")).toHaveText(new RegExp(`^${storedR.replace("-", "\\-")} \\(p`));
  await expect(page.locator("circle.brush-dot")).toHaveCount(0);
  const wholePair = await page.locator(".brush-numbers").innerText();
  await page.getByRole("slider", { name: /^From/ }).focus();
  for (let i = 0; i < 5; i++) await page.keyboard.press("ArrowRight");
  await expect.poll(() => brushNumbers(page)).not.toBe(wholePair.trim());
  await expect(page.locator(".brush-numbers div").filter({ has: page.locator("dt", { hasText: /^Days$/ }) })).toContainText(`: ${dots - 5} with both values`);
  await expect(page.locator("circle.brush-dot")).toHaveCount(dots - 5);

  await page.getByRole("button", { name: "Useful", exact: true }).click();
  await expect(page.getByText("You found this useful.")).toBeVisible();
  await page.reload();
  await hydrated(page);
  await expect(page.getByText("You found this useful.")).toBeVisible();
  await expect(page.getByRole("button", { name: "Useful", exact: true })).toHaveAttribute("aria-pressed", "true");

  // From the list of every pair tested to a pair's page and back.
  await page.getByRole("link", { name: "Every pair tested" }).click();
  await expect(page).toHaveURL(/\/insights$/);
  await expect(page.locator("table.pairs tbody tr").first()).toBeVisible();

  // Me against the group: the demo group shares sleep (six members, k = 5), so the band
  // is drawn with the member's standing; energy is shared by three members only, so its
  // figures are withheld with the reason and no band is drawn; mood drawn again.
  await page.goto("/track/sleep");
  await expect(page.getByRole("heading", { name: "Me against the group" })).toBeVisible();
  await expect(page.locator(".group-band .standing")).toContainText("percentile of the 6 members counted");
  await expect(page.locator(".band-chart path.band-outer")).toHaveAttribute("d", /Z/);
  await page.goto("/track/energy");
  await expect(page.getByRole("heading", { name: "Patterns" })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Me against the group" })).toBeVisible();
  await expect(page.locator(".group-band .withheld")).toHaveText(
    "Group figures withheld: shared by 3 members; shown from 5.",
  );
  await expect(page.locator(".band-chart")).toHaveCount(0);
  await expect(page.locator(".group-band .standing")).toHaveCount(0);
  expect(errors).toEqual([]);
});

test("a member notes a day and it is marked on their charts, then removes it", async ({ page, baseURL }, info) => {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto("/");
  await logIn(page, baseURL!);
  await page.goto("/track/sleep");
  await hydrated(page);
  // The demo organizer's two notes are listed and numbered on the chart.
  const notes = page.locator(".day-notes li");
  await expect(notes.filter({ hasText: "Flight home from the QS conference" })).toHaveCount(1);
  expect(await page.locator(".line-chart text.note-mark").count()).toBeGreaterThanOrEqual(2);

  // A day of its own per project (desktop and phone run at once on one demo).
  const back = info.project.name === "phone" ? 4 : 3;
  const day = new Date(Date.now() - back * 86_400_000).toISOString().slice(0, 10);
  const text = `Ran a <b>half</b> marathon (${info.project.name})`;
  const form = page.locator(".day-note-form");
  await form.getByLabel("Day").fill(day);
  await form.getByLabel("Note").fill(text);
  await form.getByRole("button", { name: "Note this day" }).click();
  const mine = page.locator(`.day-notes li[data-day="${day}"]`);
  await expect(mine).toContainText(text);
  // Its number on the chart is its place in the list.
  const number = await notes.evaluateAll(
    (items, day) => items.findIndex((item) => item.getAttribute("data-day") === day) + 1,
    day,
  );
  await expect(page.locator(".line-chart text.note-mark").nth(number - 1)).toHaveText(String(number));
  // On another metric's chart too, and in its table behind "Show the data".
  await page.goto("/track/mood");
  await hydrated(page);
  await expect(page.locator(`.day-notes li[data-day="${day}"]`)).toContainText(text);
  await expect(page.locator(".line-chart table")).toContainText(text);
  // Too long: the reason, and nothing changes.
  await page.locator(".day-note-form").getByLabel("Day").fill(day);
  await page.locator(".day-note-form").getByLabel("Note").evaluate((input: HTMLInputElement) => input.removeAttribute("maxlength"));
  await page.locator(".day-note-form").getByLabel("Note").fill("x".repeat(141));
  await page.getByRole("button", { name: "Note this day" }).click();
  await expect(page.locator(".day-notes [role=alert]")).toContainText("at most 140 characters");
  await expect(page.locator(`.day-notes li[data-day="${day}"]`)).toContainText(text);

  await page.locator(`.day-notes li[data-day="${day}"]`).getByRole("button", { name: "Remove" }).click();
  await expect(page.locator(`.day-notes li[data-day="${day}"]`)).toHaveCount(0);
  await expect(page.locator(".line-chart table")).not.toContainText(text);
  expect(errors).toEqual([]);
});

/** The main pages, for the accessibility check and the screenshots. */
async function mainPages(page: Page): Promise<[string, string][]> {
  await page.goto("/groups/qs-north-bay");
  const event = await page.locator("a[href^='/events/']").first().getAttribute("href");
  await dashboardWithInsights(page);
  const pair = await page.locator(".insight").first().getByRole("link", { name: "See the data" }).getAttribute("href");
  return [
    ["home", "/"],
    ["group", "/groups/qs-north-bay"],
    ["event", event!],
    ["quick-log", "/track"],
    ["dashboard", "/dashboard"],
    ["metric", "/track/sleep"],
    ["insights", "/insights"],
    ["group-insights", "/groups/qs-north-bay/insights"],
    ["pair", pair!],
  ];
}

test("the main pages have no serious or critical accessibility violation (axe-core), and their screenshots are saved", async ({ page, baseURL }, info) => {
  test.setTimeout(240_000);
  await page.goto("/");
  await logIn(page, baseURL!);
  const pages = await mainPages(page);
  const dir = join(__dirname, "..", "screenshots");
  mkdirSync(dir, { recursive: true });
  const problems: string[] = [];
  // Each page light and dark (the colours follow prefers-color-scheme).
  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const [name, path] of pages) {
      await page.goto(path);
      await hydrated(page);
      const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
      for (const violation of results.violations) {
        if (violation.impact === "serious" || violation.impact === "critical") {
          const where = violation.nodes.slice(0, 3).map((node) => node.target.join(" ")).join("; ");
          problems.push(`${name} (${path}, ${scheme}): ${violation.id} [${violation.impact}] ${violation.help} at ${where}`);
        }
      }
      await page.screenshot({ path: join(dir, `${info.project.name}-${name}-${scheme}.png`), fullPage: true });
    }
  }
  expect(problems).toEqual([]);
});

/** The numbers of a brushed chart's selection, as text. */
async function brushNumbers(page: Page) {
  return (await page.locator(".brush-numbers").innerText()).trim();
}

test("brushing a metric's chart recomputes the numbers in the browser, and they are the server's for those days", async ({ page, browser, baseURL }) => {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto("/");
  await logIn(page, baseURL!);
  await page.goto("/track/sleep");
  await hydrated(page);
  const whole = await brushNumbers(page);
  expect(whole).toMatch(/Trend.*a week \(95% interval/s);
  await expect(page.locator(".brush-zoom")).toBeHidden();

  // The keyboard: the sliders move a day per arrow key.
  const from = page.getByRole("slider", { name: /^From/ });
  const to = page.getByRole("slider", { name: /^To/ });
  await from.focus();
  for (let i = 0; i < 20; i++) await page.keyboard.press("ArrowRight");
  await to.focus();
  for (let i = 0; i < 10; i++) await page.keyboard.press("ArrowLeft");
  await expect.poll(() => brushNumbers(page)).not.toBe(whole);
  const brushed = await brushNumbers(page);
  expect(brushed).toMatch(/logged of \d+/);
  await expect(page.locator("rect.brush-selection")).toHaveAttribute("visibility", "visible");

  // The server's numbers for the same days: the range's own page, read without JavaScript.
  const zoom = page.getByRole("link", { name: "Show only these days" });
  await expect(zoom).toBeVisible();
  const href = (await zoom.getAttribute("href"))!;
  expect(href).toMatch(/^\/track\/sleep\?from=\d{4}-\d\d-\d\d&to=\d{4}-\d\d-\d\d$/);
  const still = await browser.newContext({ javaScriptEnabled: false, storageState: await page.context().storageState(), baseURL });
  const server = await still.newPage();
  await server.goto(href);
  expect(await brushNumbers(server)).toBe(brushed);
  await still.close();

  // A drag across the chart with the pointer selects the days under it; a tap shows a
  // day's value and keeps the selection.
  await page.getByRole("button", { name: "All days" }).click();
  await expect.poll(() => brushNumbers(page)).toBe(whole);
  const area = (await page.locator("rect.brush-area").boundingBox())!;
  const y = area.y + area.height / 2;
  await page.mouse.move(area.x + area.width * 0.25, y);
  await expect(page.locator(".chart-tip")).toHaveText(/^\w{3} \d{1,2} \w{3} \d{4}: /);
  await page.mouse.down();
  await page.mouse.move(area.x + area.width * 0.5, y, { steps: 5 });
  await page.mouse.move(area.x + area.width * 0.75, y, { steps: 5 });
  await page.mouse.up();
  await expect.poll(() => brushNumbers(page)).not.toBe(whole);
  const dragged = await brushNumbers(page);
  await page.mouse.click(area.x + area.width * 0.1, y);
  await expect.poll(() => brushNumbers(page)).toBe(dragged);
  expect(errors).toEqual([]);
});
