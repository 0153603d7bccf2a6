import { test, expect, type Browser, type Page } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import ICAL from "ical.js";

const password = "a long and private passphrase";
const repo = resolve(__dirname, "..", "..");
const bin = process.env.COHORT_BIN ?? join(repo, "target/release/cohort");

test.use({ timezoneId: "America/Los_Angeles" });

function uniqueEmail(prefix: string) {
  return `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.org`;
}

// The server under test, from the baseURL fixture.
let origin = "";

async function api(page: Page, name: string, form: Record<string, string>) {
  const response = await page.request.post(`${origin}/api/${name}`, {
    headers: { Origin: origin, Accept: "application/json" },
    form,
  });
  expect(response.status(), `${name}: ${await response.text()}`).toBeLessThan(400);
  return response;
}

/** A new member in a browser context of their own, logged in and in the demo group. */
async function member(browser: Browser, name: string) {
  // The same screen as the project's (desktop or phone).
  const { viewport, userAgent, isMobile, hasTouch, deviceScaleFactor } = test.info().project.use;
  const context = await browser.newContext({
    baseURL: origin,
    timezoneId: "America/Los_Angeles",
    viewport,
    userAgent,
    isMobile,
    hasTouch,
    deviceScaleFactor,
  });
  const page = await context.newPage();
  const email = uniqueEmail(name.toLowerCase());
  await api(page, "signup", { email, display_name: name, password });
  await api(page, "join_group", { slug: "qs-north-bay" });
  return { page, email };
}

async function hydrated(page: Page) {
  await expect(page.locator("[data-hydrated=true]")).toHaveCount(1);
}

/** The page fits the screen: no sideways scrolling on a phone. */
async function fits(page: Page) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
}

test("a one-seat meetup: the second member waits, then gets the freed seat", async ({ page, browser, baseURL }) => {
  origin = new URL(baseURL!).origin;
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));

  // The organizer: an account made an instance admin from the command line (as an
  // operator would), who then makes themselves an organizer of the demo group.
  const organizerEmail = uniqueEmail("organizer");
  await api(page, "signup", { email: organizerEmail, display_name: "Olive Organizer", password });
  execFileSync(bin, ["admin", "grant", organizerEmail, "--data-dir", process.env.COHORT_E2E_DATA_DIR!]);
  await api(page, "join_group", { slug: "qs-north-bay" });
  const me = await (await api(page, "get_current_user", {})).json();
  await api(page, "promote_member", { slug: "qs-north-bay", user_id: String(me.id) });

  // The organizer creates a meetup with one seat, ten days from now.
  const title = `One seat ${Date.now()}`;
  const day = new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10);
  await page.goto("/groups/qs-north-bay");
  await page.getByRole("link", { name: "New meetup" }).click();
  await expect(page).toHaveURL(/\/groups\/qs-north-bay\/events\/new$/);
  await hydrated(page);
  await fits(page);
  await page.getByLabel("Title").fill(title);
  await page.getByLabel("Description (Markdown)").fill("Bring **one** chart.");
  await page.getByLabel("Date", { exact: true }).fill(day);
  await page.getByLabel("Starts").fill("18:30");
  await page.getByLabel("Ends").fill("20:30");
  await page.getByLabel("Seats (empty: no limit)").fill("1");
  await page.getByRole("button", { name: "Create the meetup" }).click();
  await expect(page).toHaveURL(/\/events\/\d+$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(title);
  await expect(page.locator(".seats")).toHaveText("0 of 1 seats taken");
  const eventUrl = page.url();

  // Two members answer yes: the first gets the seat, the second the waitlist.
  const first = await member(browser, "First");
  const second = await member(browser, "Second");
  for (const [who, expected] of [
    [first, "You're going."],
    [second, "You're number 1 on the waitlist."],
  ] as const) {
    await who.page.goto(eventUrl);
    await hydrated(who.page);
    await who.page.getByRole("button", { name: "Yes, I'll come" }).click();
    await expect(who.page.locator(".my-rsvp")).toContainText(expected);
  }
  await expect(second.page.locator(".seats")).toContainText("1 of 1 seats taken · 1 on the waitlist");
  await fits(second.page);

  // The first cancels; the second, on reloading, has the seat.
  await first.page.getByRole("button", { name: "No", exact: true }).click();
  await expect(first.page.locator(".my-rsvp")).toHaveText("You're not going.");
  await second.page.reload();
  await expect(second.page.locator(".my-rsvp")).toHaveText("You're going.");

  // The promotion e-mail is written (kept in the outbox: no SMTP server is configured).
  await expect(async () => {
    await page.goto("/admin/outbox");
    const promoted = page.locator(".outbox li").filter({ hasText: title }).filter({ hasText: second.email });
    await expect(promoted.filter({ hasText: "you're in" })).toHaveCount(1);
  }).toPass({ timeout: 20_000 });

  // The calendar file downloads and parses as iCalendar.
  await second.page.goto(eventUrl);
  const [download] = await Promise.all([
    second.page.waitForEvent("download"),
    second.page.getByRole("link", { name: "Add to calendar (.ics)" }).click(),
  ]);
  const ics = readFileSync((await download.path())!, "utf8");
  const calendar = new ICAL.Component(ICAL.parse(ics));
  const vevent = calendar.getFirstSubcomponent("vevent")!;
  const event = new ICAL.Event(vevent);
  expect(event.summary).toBe(title);
  expect(vevent.getFirstProperty("dtstart")!.getParameter("tzid")).toBe("America/Los_Angeles");
  expect(event.startDate.toString()).toBe(`${day}T18:30:00`);
  expect(calendar.getFirstSubcomponent("vtimezone")).not.toBeNull();
  expect(errors).toEqual([]);
  await first.page.context().close();
  await second.page.context().close();
});
