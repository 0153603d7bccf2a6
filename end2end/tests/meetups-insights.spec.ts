import { test, expect, type Page } from "@playwright/test";
import { hydrated, logIn } from "./demo";

/** A server function called as the page's forms call it, with the page's session. */
async function call(page: Page, baseURL: string, name: string, form: Record<string, string>) {
  const origin = new URL(baseURL).origin;
  const response = await page.request.post(`${origin}/api/${name}`, {
    headers: { Origin: origin, Accept: "application/json" },
    form,
  });
  expect(response.status(), `${name}: ${await response.text()}`).toBe(200);
  return response.json();
}

test("the demo meetup v1.3 shows its frozen figures and a talk's frozen insight, to the group only", async ({ page, browser, baseURL }) => {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto("/");
  await logIn(page, baseURL!);
  await page.goto("/?show=past");
  await page.getByRole("link", { name: "QSNB Meetup v1.3" }).click();
  await expect(page).toHaveURL(/\/events\/\d+$/);
  const url = page.url();
  await hydrated(page);

  const figures = page.locator(".meetup-figures");
  await expect(figures.getByRole("heading", { name: "Since the last meetup" })).toBeVisible();
  await expect(figures).toContainText("never recomputed");
  const sleep = figures.locator(".meetup-figure", { has: page.getByRole("heading", { name: "Sleep" }) });
  await expect(sleep.locator(".since")).toContainText(/median [\d.]+ h \(middle half .*\), 6 members/);
  await expect(sleep.locator("svg path.spread-box")).toHaveCount(1);
  const energy = figures.locator(".meetup-figure", { has: page.getByRole("heading", { name: "Energy" }) });
  await expect(energy.locator(".withheld")).toHaveText("Withheld: shared by 3 members; shown from 5.");

  const talk = page.locator(".talks li", { hasText: "Sleep with a Zeo headband" });
  await expect(talk.locator(".talk-insight .sentence")).toContainText(/sleep/i);
  await expect(talk.locator(".talk-insight svg.chart")).toBeVisible();
  await expect(talk.locator(".talk-insight .provenance")).toContainText("A frozen copy: computed");

  // The meetup's report: one self-contained page, its own stylesheet allowed by hash.
  const violations: string[] = [];
  page.on("console", (message) => {
    if (message.text().includes("Content Security Policy")) violations.push(message.text());
  });
  await expect(page.getByRole("link", { name: "Download it (HTML)" })).toHaveAttribute("download", /^meetup-report-\d+\.html$/);
  await page.getByRole("link", { name: "Meetup report" }).click();
  await expect(page.getByRole("heading", { name: "QSNB Meetup v1.3: meetup report" })).toBeVisible();
  await expect(page.locator(".checked-in")).toHaveText("5");
  await expect(page.locator(".talk-insight .sentence")).toContainText(/sleep/i);
  await expect(page.locator(".meetup-figures .withheld")).toContainText("shared by 3 members");
  expect(await page.locator(".talk-insight").evaluate((el) => getComputedStyle(el).borderLeftStyle)).toBe("solid");
  expect(violations).toEqual([]);
  await page.goto(url);

  // Someone who is not logged in sees the talk, without the figures or the insight.
  const stranger = await browser.newContext({ baseURL });
  const anonymous = await stranger.newPage();
  await anonymous.goto(url);
  await expect(anonymous.locator(".talks li", { hasText: "Sleep with a Zeo headband" })).toBeVisible();
  await expect(anonymous.locator(".meetup-figures")).toHaveCount(0);
  await expect(anonymous.locator(".talk-insight")).toHaveCount(0);
  await stranger.close();
  expect(errors).toEqual([]);
});

test("a member attaches an insight to their talk; it stays frozen when their data changes; withdrawn, it is gone", async ({ page, baseURL }, info) => {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto("/");
  await logIn(page, baseURL!);
  await page.goto("/groups/qs-north-bay");
  const next = (await page.locator("a[href^='/events/']").first().getAttribute("href"))!;
  await page.goto(next);
  await hydrated(page);
  // The next meetup shows the group's figures as published so far.
  await expect(page.locator(".meetup-figures")).toContainText("frozen for this meetup when it starts");

  const title = `What my steps do (${info.project.name} ${Date.now()})`;
  await page.locator(".propose-talk summary").click();
  await page.getByLabel("Title").fill(title);
  await page.getByRole("button", { name: "Propose" }).click();
  const talk = page.locator("li[data-talk]", { hasText: title });
  await expect(talk).toBeVisible();

  // Attach one of the member's insights (one with steps when there is one).
  const select = talk.getByLabel("Attach one of your insights");
  const subjects = await select.locator("option").evaluateAll((options) => options.map((o) => (o as HTMLOptionElement).value));
  const subject = subjects.find((s) => s.includes("steps")) ?? subjects[0];
  const [, a, b, lag] = subject.split(":");
  await select.selectOption(subject);
  await talk.getByRole("button", { name: "Attach a frozen copy" }).click();
  const frozen = talk.locator(".talk-insight");
  await expect(frozen.locator(".sentence")).not.toBeEmpty();
  const numbers = (await frozen.locator(".numbers").textContent())!;
  const r = (await frozen.locator(".numbers div", { hasText: "Pearson r" }).locator("dd").innerText()).trim();

  // The member's data changes: an unusual day five days ago moves the live r.
  const metric = a === "meetups" ? b : a;
  const unusual: Record<string, string> = { steps: "30000", sleep: "720", mood: "1", energy: "1" };
  const day = new Date(Date.now() - 5 * 86_400_000).toISOString().slice(0, 10);
  const note = `e2e-unusual-${info.project.name}-${Date.now()}`;
  await call(page, baseURL!, "log_entry", { metric, value: unusual[metric] ?? "1", at: `${day}T22:00`, note, key: note });
  await expect(async () => {
    const pair = await call(page, baseURL!, "get_pair", { a, b, lag });
    const live = pair.numbers.find((n: string[]) => n[0] === "Pearson r")[1];
    expect(live).not.toBe(r);
  }).toPass({ timeout: 60_000 });
  await page.reload();
  await hydrated(page);
  await expect(talk.locator(".talk-insight .numbers")).toHaveText(numbers);

  // Withdrawn: the copy is gone.
  await talk.getByRole("button", { name: "Withdraw the attached insight" }).click();
  await expect(talk.locator(".talk-insight")).toHaveCount(0);
  await expect(talk.getByLabel("Attach one of your insights")).toBeVisible();

  // The unusual day goes again, so that the demo's data is as it was.
  const entries = await call(page, baseURL!, "get_metric_page", { key: metric, search: note });
  for (const entry of entries.entries) {
    await call(page, baseURL!, "delete_entry", { id: String(entry.id) });
  }
  expect(errors).toEqual([]);
});

test("the group's insights: shared metrics week by week, relations across the group, attendance", async ({ page, baseURL }) => {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto("/");
  await logIn(page, baseURL!);
  await page.goto("/groups/qs-north-bay");
  await hydrated(page);
  // A full page load (rel="external"): the page is drawn on the server.
  await page.getByRole("link", { name: "What the group's data says" }).click();
  await expect(page).toHaveURL(/\/groups\/qs-north-bay\/insights$/);
  await hydrated(page);
  await expect(page.getByRole("heading", { name: "What the group's data says" })).toBeVisible();
  // Sleep is shared by all six: weekly bands; energy by three: withheld, with the reason.
  const sleep = page.locator(".group-band", { has: page.getByRole("heading", { name: "Sleep" }) });
  await expect(sleep.locator(".band-chart path.band-outer")).toHaveAttribute("d", /Z/);
  const energy = page.locator(".group-band", { has: page.getByRole("heading", { name: "Energy" }) });
  await expect(energy.locator(".withheld")).toContainText("shared by 3 members; shown from 5");
  // Pairs of the shared metrics, tested on each of the six members' own data.
  await expect(page.locator(".group-relations li").first()).toContainText(/holds for \d of the 6 members tested; median r = -?\d\.\d\d\./);
  const v13 = page.locator(".attendance-history tr", { hasText: "QSNB Meetup v1.3" });
  await expect(v13.locator("td").last()).toHaveText("5");
  expect(errors).toEqual([]);
});
