import { appendFileSync } from "node:fs";
import { test, expect, type Browser, type BrowserContext, type Page } from "@playwright/test";

/**
 * Front-end weight, measured from the browser: for each main page, the bytes on the wire
 * (compressed, as sent) of every script and wasm file it fetches until it is interactive
 * (hydrated, and the network quiet), the raw wasm bytes (what the phone compiles), and
 * the number of files. Enforced: a page over its ceiling, or fetching more files than the
 * packed build's four, fails the test command. Also
 * checked on each page: no Content-Security-Policy violation, the browser's title never
 * blank while the page's code loads, and every wasm file it fetched named by a preload
 * link in its head.
 *
 * The time to interactive of /track with Chromium's CPU slowed down 4x is printed, not
 * asserted (a timing, not a fact). Run this file alone:
 *
 *     cd end2end && npx playwright test tests/weight.spec.ts --project desktop
 */

const password = "a long and private passphrase";
const KB = 1000;

/** The targets, in bytes on the wire per page. */
const TARGET: Record<string, number> = {
  "/": 350 * KB,
  "/track": 200 * KB,
  "/events/{id}": 350 * KB,
  "/track/{metric}": 350 * KB,
  "/dashboard": 350 * KB,
};

/**
 * What the test command enforces: the target where a page meets it, otherwise a few per
 * cent over what the page weighs today, so that no page grows unnoticed (lower it as the
 * page gets lighter; the README says where each page stands).
 */
const CEILING: Record<string, number> = {
  "/": TARGET["/"],
  // The quick log's island (app/quicklog) instead of the app's bundle, whose main file
  // alone is 179 KB: a site built without the island is over this.
  "/track": TARGET["/track"],
  "/events/{id}": TARGET["/events/{id}"],
  "/track/{metric}": TARGET["/track/{metric}"],
  "/dashboard": TARGET["/dashboard"],
};

/**
 * Files per page: the main bundle, its script, the split's loader and the route's pack
 * (`cohort pack-site`); a page that fetches more is served an unpacked build. (The quick
 * log: the island's script and wasm.)
 */
const MAX_FILES = 4;

type Weight = { wire: number; rawWasm: number; files: number; unencoded: string[]; notPreloaded: string[] };

function uniqueEmail(prefix: string) {
  return `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.org`;
}

/** A browser context with nothing cached, recording CSP violations and when the page hydrated. */
async function freshContext(browser: Browser, baseURL: string): Promise<BrowserContext> {
  const context = await browser.newContext({ baseURL, timezoneId: "America/Los_Angeles" });
  await context.addInitScript(() => {
    const w = window as unknown as { __csp: string[]; __hydratedAt?: number; __titles: string[] };
    w.__csp = [];
    // The title the browser shows at each frame while the page loads and hydrates (what
    // a member could see; a change undone within the same task never reaches the screen).
    w.__titles = [];
    const started = performance.now();
    const frame = () => {
      if (document.readyState !== "loading" && w.__titles[w.__titles.length - 1] !== document.title) {
        w.__titles.push(document.title);
      }
      if (performance.now() - started < 10_000) requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
    document.addEventListener("securitypolicyviolation", (event) => {
      w.__csp.push(`${event.violatedDirective} ${event.blockedURI}`);
    });
    new MutationObserver(() => {
      if (w.__hydratedAt === undefined && document.querySelector("[data-hydrated=true]")) {
        w.__hydratedAt = performance.now();
      }
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-hydrated"] });
  });
  return context;
}

async function signUp(page: Page, origin: string, joinGroup: boolean) {
  const post = (name: string, form: Record<string, string>) =>
    page.request.post(`${origin}/api/${name}`, { headers: { Origin: origin, Accept: "application/json" }, form });
  const signup = await post("signup", { email: uniqueEmail("weight"), display_name: "Wendy Weight", password });
  expect(signup.status()).toBe(200);
  if (joinGroup) expect((await post("join_group", { slug: "qs-north-bay" })).status()).toBe(200);
}

/** Loads `path`, waits until it is interactive, and adds up the scripts and wasm it fetched. */
async function weigh(page: Page, path: string): Promise<Weight> {
  const finished: Promise<{ url: string; wire: number; raw: number; encoding: string }>[] = [];
  page.on("requestfinished", (request) => {
    const url = new URL(request.url());
    if (!/\.(wasm|js)$/.test(url.pathname)) return;
    finished.push(
      (async () => {
        const response = await request.response();
        const sizes = await request.sizes();
        const raw = url.pathname.endsWith(".wasm") && response ? (await response.body()).length : 0;
        return {
          url: url.pathname,
          wire: sizes.responseBodySize,
          raw,
          encoding: response?.headers()["content-encoding"] ?? "",
        };
      })(),
    );
  });
  await page.goto(path);
  await expect(page.locator("[data-hydrated=true]")).toHaveCount(1);
  await page.waitForLoadState("networkidle");
  const files = await Promise.all(finished);
  // `WEIGHT_FILES=path` appends every file each page fetched, with its size (to see which chunks weigh).
  if (process.env.WEIGHT_FILES) appendFileSync(process.env.WEIGHT_FILES, JSON.stringify({ path, files }) + "\n");
  const violations = await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp);
  expect(violations, `CSP violations on ${path}`).toEqual([]);
  // The page's head names every wasm file its route needs (`<link rel="preload">`), so
  // the browser fetches them at once, beside the main bundle, rather than one round trip
  // after it. (Under concurrency Leptos wrote these links from the wrong reactive owner
  // and they went missing: server/src/request_owner.rs.)
  const preloaded = await page.evaluate(() =>
    [...document.querySelectorAll("link[rel=preload][as=fetch]")].map((link) => new URL((link as HTMLLinkElement).href).pathname),
  );
  const titles = await page.evaluate(() => (window as unknown as { __titles: string[] }).__titles);
  expect(titles.length, `${path} showed no title`).toBeGreaterThan(0);
  for (const title of titles) expect(title, `${path}'s titles while loading: ${JSON.stringify(titles)}`).toMatch(/Cohort$/);
  return {
    wire: files.reduce((sum, file) => sum + file.wire, 0),
    rawWasm: files.reduce((sum, file) => sum + file.raw, 0),
    files: files.length,
    unencoded: files.filter((file) => file.encoding === "" && file.wire > 1000).map((file) => file.url),
    notPreloaded: files.filter((file) => file.url.endsWith(".wasm") && !preloaded.includes(file.url)).map((file) => file.url),
  };
}

test.beforeEach(({}, info) => {
  test.skip(info.project.name !== "desktop", "measured once, on the desktop project");
});

test("every main page stays within its weight, with no CSP violation", async ({ browser, baseURL }) => {
  test.setTimeout(120_000);
  const origin = new URL(baseURL!).origin;
  const weights: Record<string, Weight> = {};

  let context = await freshContext(browser, origin);
  let page = await context.newPage();
  weights["/"] = await weigh(page, "/");
  const event = await page.locator(".meetup a[href^='/events/']").first().getAttribute("href");
  expect(event).toMatch(/^\/events\/\d+$/);
  await context.close();

  for (const [label, path] of [
    ["/track", "/track"],
    ["/events/{id}", event!],
    ["/track/{metric}", "/track/weight"],
    ["/dashboard", "/dashboard"],
  ]) {
    context = await freshContext(browser, origin);
    page = await context.newPage();
    await signUp(page, origin, true);
    weights[label] = await weigh(page, path);
    await context.close();
  }

  for (const [label, weight] of Object.entries(weights)) {
    const verdict = weight.wire <= TARGET[label] ? "target met" : "over target";
    console.log(
      `weight: ${label.padEnd(16)} ${String(weight.wire).padStart(8)} bytes on the wire in ${weight.files} files ` +
        `(target ${TARGET[label]}: ${verdict}; ceiling ${CEILING[label]}), ${weight.rawWasm} bytes of wasm uncompressed`,
    );
  }
  for (const [label, weight] of Object.entries(weights)) {
    expect(weight.unencoded, `${label}: sent uncompressed`).toEqual([]);
    expect(weight.notPreloaded, `${label}: wasm fetched without a preload link in the page`).toEqual([]);
    expect(weight.wire, `${label}: bytes of scripts and wasm on the wire`).toBeLessThanOrEqual(CEILING[label]);
    expect(weight.files, `${label}: scripts and wasm files (is the site packed? .ci/build)`).toBeLessThanOrEqual(MAX_FILES);
  }
});

test("time to interactive of the quick log, CPU slowed 4x, on slow 4G (printed, not asserted)", async ({ browser, baseURL }) => {
  test.setTimeout(120_000);
  const origin = new URL(baseURL!).origin;
  const figures: string[] = [];
  // Lighthouse's mobile profile: slow 4G is 150 ms round trips, 1.6 Mbit/s down.
  const slow4g = { offline: false, latency: 150, downloadThroughput: 200_000, uploadThroughput: 94_000 };
  for (const [rate, network] of [
    [1, null],
    [4, null],
    [4, slow4g],
  ] as const) {
    const context = await freshContext(browser, origin);
    const page = await context.newPage();
    await signUp(page, origin, false);
    const cdp = await context.newCDPSession(page);
    await cdp.send("Emulation.setCPUThrottlingRate", { rate });
    if (network) {
      await cdp.send("Network.enable");
      await cdp.send("Network.emulateNetworkConditions", network);
    }
    await page.goto("/track", { timeout: 60_000 });
    await expect(page.locator("[data-hydrated=true]")).toHaveCount(1, { timeout: 60_000 });
    const at = await page.evaluate(() => (window as unknown as { __hydratedAt?: number }).__hydratedAt ?? NaN);
    figures.push(`${Math.round(at)} ms at CPU ${rate}x${network ? " on slow 4G (150 ms, 1.6 Mbit/s)" : ""}`);
    await context.close();
  }
  console.log(`weight: /track interactive (hydrated) after ${figures.join(", ")}, from navigation start, local server`);
});

test("moving between pages in place fetches each route's pack once and runs no module twice", async ({ browser, baseURL }) => {
  const origin = new URL(baseURL!).origin;
  const context = await freshContext(browser, origin);
  // Every module the split's loader instantiates, by its length and a checksum of its
  // bytes: a chunk that two routes share comes in both packs, and must run once (a second
  // instance would write its data over statics that the first has changed).
  await context.addInitScript(() => {
    const w = window as unknown as { __modules: string[] };
    w.__modules = [];
    const wasm = WebAssembly as unknown as { instantiate: (source: unknown, imports: unknown) => Promise<unknown> };
    const plain = wasm.instantiate.bind(WebAssembly);
    wasm.instantiate = (source, imports) => {
      if (source instanceof Uint8Array) {
        let sum = 0;
        for (const byte of source) sum = (Math.imul(sum, 31) + byte) | 0;
        w.__modules.push(`${source.length}:${sum}`);
      }
      return plain(source, imports);
    };
  });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  const packs: string[] = [];
  page.on("request", (request) => {
    const path = new URL(request.url()).pathname;
    if (path.includes("/pack_")) packs.push(path);
  });
  await signUp(page, origin, true);
  // (Not from /track: loaded on its own, the quick log is its island, and its links load
  // the next page. Reached in place, it is the app's route, as here.)
  await page.goto("/dashboard");
  await expect(page.locator("[data-hydrated=true]")).toHaveCount(1);
  // A marker on window survives client-side navigation but not a page load.
  await page.evaluate(() => ((window as unknown as { __stayed: boolean }).__stayed = true));

  const site = page.getByRole("navigation", { name: "Site" });
  await site.getByRole("link", { name: "Track", exact: true }).click();
  await expect(page).toHaveURL(/\/track$/);
  await expect(page.locator(".log-card")).not.toHaveCount(0);
  await page.locator('.metric-list a[href="/track/weight"]').click();
  await expect(page).toHaveURL(/\/track\/weight$/);
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Weight");
  await site.getByRole("link", { name: "Track", exact: true }).click();
  await expect(page).toHaveURL(/\/track$/);
  await site.getByRole("link", { name: "Dashboard", exact: true }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByRole("heading", { name: "Hello, Wendy Weight" })).toBeVisible();
  await page.waitForLoadState("networkidle");

  expect(await page.evaluate(() => (window as unknown as { __stayed?: boolean }).__stayed), "navigated in place").toBe(true);
  expect(packs.map((path) => path.replace(/_view_\d+/, "")), "one fetch per route visited").toEqual([
    "/pkg/pack_insights_route.wasm",
    "/pkg/pack_track_route.wasm",
    "/pkg/pack_metric_route.wasm",
  ]);
  const modules = await page.evaluate(() => (window as unknown as { __modules: string[] }).__modules);
  expect(modules.length, "modules instantiated from the packs").toBeGreaterThan(3);
  expect(modules.filter((id, i) => modules.indexOf(id) !== i), "modules instantiated twice").toEqual([]);
  expect(errors).toEqual([]);
  await context.close();
});
