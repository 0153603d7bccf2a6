/*
 * Security issue 11: stored (and a few reflected) cross-site scripting, end to end.
 *
 * One test stores a list of payloads through every text field a member can fill, then
 * loads every page that shows them in Chromium and checks, on each page, that
 *   - no script from a payload ran: no dialog (alert/confirm/prompt, also from frames),
 *     `window.__xss` unset (some payloads append their id to it instead of alerting);
 *   - no payload became markup: no element with a payload's id (`xssN`), no `on*`
 *     attribute anywhere, no iframe/object/embed/base/meta-refresh, no javascript:,
 *     vbscript: or data:text/html URL in href/src/action/formaction, no <script> whose
 *     body is a payload's; no request to a payload's URL (meta refresh, @import);
 *   - no Content-Security-Policy violation was reported (a `securitypolicyviolation`
 *     listener installed before any page script, and CSP console messages from frames),
 *     no uncaught page error, no console error (network 404s of sanitised `<img src=x>`
 *     excepted), and the page hydrated (the wasm started and `data-hydrated` turned true
 *     where a page has it);
 *   - the response carries a strict Content-Security-Policy: script-src (or default-src)
 *     with a nonce, no bare 'unsafe-inline', no wildcard or scheme sources;
 *   - template syntax was not evaluated (`{{7*1001}}` never shows as 7007);
 *   - where the text is visible in a known place (document.title, the event heading, the
 *     edit and duplicate forms' inputs and <textarea>, group and metric headings, token
 *     and file names, the profile's name input), it reads exactly as typed: neither
 *     markup nor double-escaped entities.
 * Every problem names the page, the payload (id and text) and the field(s) that hold it
 * on that page; all problems are gathered and reported per route at the end (soft), and
 * written to xss-report.json in the test's output directory.
 *
 * PAYLOADS: 46 in all.
 *   24 general payloads (ids 1-24, each at most 80 characters so that every field takes
 *      it): </title>, </textarea>, "> and '> breakouts, </script> and <!--<script> (the
 *      serialised resources), <iframe srcdoc>, {{7*7}} and other template syntax,
 *      </option></select>, attribute breakouts in both quote styles with autofocus,
 *      <meta http-equiv=refresh>, HTML entities, Unicode bidi controls, javascript: text
 *      and links, <details ontoggle>, U+2028/U+2029, two mutation-XSS shapes (MathML,
 *      noscript), a JavaScript-string breakout, full-width brackets, SVG onbegin.
 *   19 Markdown payloads (ids 101-119) in every event description: javascript: links and
 *      images (plain, mixed case, entity-encoded, <angle> destination, autolink,
 *      reference), raw <a>/<img>/<details>/<svg><script>/<iframe>/<form>/<style>,
 *      data:text/html, a table with HTML cells, mXSS, </textarea><script>.
 *    3 e-mail addresses (ids 41-43) that are valid addresses and markup at once.
 *
 * FIELDS x PAGES (N = 24; "all" = every general payload goes through that field):
 *   group name, city (all; 24 groups + 1 via the UI form)
 *       -> /, /groups, /groups/{slug} (<title>), /events/{id} (crumbs), /track/{metric}
 *          (sharing list), /admin/outbox
 *   display name (all; 24 members, 3 with payload e-mails; 1 changed via the /me form)
 *       -> header of every page they see, /me (input value), /groups/{slug} (members),
 *          /events/{id} (going list, comment author, speaker), /events/{id}/manage
 *          (check-in list, data-name), /admin/outbox (To)
 *   e-mail address (3) -> /me, /admin/outbox
 *   event title (all; + 1 via the UI form), venue, address (all), online link (all),
 *   Markdown description (all + 19 Markdown payloads in every event)
 *       -> /, /groups/{slug}, /events/{id} (<title>, og: meta tags, h1, description),
 *          /events/{id}/edit and /groups/{slug}/events/new?from={id} (input values,
 *          <textarea>), /events/{id}/manage, /admin/outbox (Changed:/Cancelled: mails)
 *   comment (all + 1 via the UI form), talk title and abstract, accepted (all) and still
 *   proposed (all + 1 via the UI form), cancellation reason (all)
 *       -> /events/{id} as the organizer (every meetup, before cancelling), anonymously
 *          (every meetup, cancelled) and as members 0, 6, 12, 18 (theirs, cancelled),
 *          /admin/outbox (cancellation reason)
 *   metric name (all; + 1 via the UI form), metric unit (every payload is tried; the
 *   unit rule refuses markup, then an odd but valid unit is stored), note and #tags
 *   (all, via the quick-log server function, the CSV import and 1 via the UI form)
 *       -> /track (cards, list, "Recently"), /track/{metric} (<title>, h1, history,
 *          edit form values), /track/import/{id} (<option>s of the column mapping)
 *   API token name (all, every other one revoked; + 1 via the UI form) -> /me/tokens
 *   CSV file name (all via a multipart body a script would send, raw quotes included;
 *   2 via the browser's file upload), CSV header and cells (all)
 *       -> /track/import, /track/import/{id} (h1, preview table, <select> labels, and
 *          the "rows not imported" reasons that quote cells: value, metric, unit)
 *   reflected, not stored (each payload in one of the three, in turn):
 *   /track/{metric}?search=, /track/import?error=, /login?next= (anonymous)
 *   plus /admin/jobs and /admin/outbox as admin.
 *
 * Runs on the desktop project only (a phone renders the same HTML), against a cohort server
 * of its own (fresh data directory, no demo) so that hundreds of payload groups and meetups
 * never reach the shared server the other specs read; about 265 page loads, four at a time
 * (XSS_CONCURRENCY=N changes that),
 * about 2 minutes.
 */
import {
  test,
  expect,
  type APIRequestContext,
  type APIResponse,
  type Browser,
  type BrowserContext,
  type Page,
  type TestInfo,
} from "@playwright/test";
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const password = "a long and private passphrase";
const zone = "America/Los_Angeles";
const repo = resolve(__dirname, "..", "..");
const bin = process.env.COHORT_BIN ?? join(repo, "target/release/cohort");
const siteRoot = process.env.LEPTOS_SITE_ROOT ?? join(repo, "target/site");
/** Pages loaded at once. */
const CONCURRENCY = Number(process.env.XSS_CONCURRENCY ?? 4);

test.use({ timezoneId: zone });

// ---------------------------------------------------------------------------------------
// Payloads

interface Payload {
  id: number;
  text: string;
  /** What it aims at. */
  aim: string;
}

const run = Date.now().toString(36);

const GENERAL: Payload[] = [
  { id: 1, text: `</title><img id=xss1 src=x onerror=alert(1)>`, aim: "ends <title>" },
  { id: 2, text: `</textarea><img id=xss2 src=x onerror=alert(2)>`, aim: "ends <textarea>" },
  { id: 3, text: `"><svg id=xss3 onload=alert(3)>`, aim: "ends a double-quoted attribute" },
  { id: 4, text: `'><script id=xss4>alert(4)</script>`, aim: "ends a single-quoted attribute" },
  { id: 5, text: `</script><script id=xss5>alert(5)</script>`, aim: "ends a <script> (serialised data)" },
  { id: 6, text: `<!--<script>window.__xss=String([window.__xss,6])//`, aim: "script data double-escaped state" },
  { id: 7, text: `<iframe id=xss7 srcdoc="<script>parent.alert(7)</script>"></iframe>`, aim: "iframe srcdoc" },
  {
    id: 8,
    text: "{{7*7}}{{7*1001}}${7*1001}<%=7*1001%>{{constructor.constructor('alert(8)')()}}",
    aim: "template injection",
  },
  { id: 9, text: `</option></select><img id=xss9 src=x onerror=alert(9)>`, aim: "ends <option>/<select>" },
  { id: 10, text: `" autofocus onfocus="alert(10)" onmouseover="alert(10)" x="`, aim: "double-quote attribute breakout" },
  { id: 11, text: `' autofocus onfocus='alert(11)' onmouseover='alert(11)' x='`, aim: "single-quote attribute breakout" },
  { id: 12, text: `<meta http-equiv="refresh" content="0;url=/?xss-refresh=12">`, aim: "meta refresh" },
  { id: 13, text: `&lt;img src=x onerror=alert(13)&gt;&#60;svg onload=alert(13)&#62;`, aim: "entities decoded twice" },
  { id: 14, text: `\u202Egnp.exe\u202C<img id=xss14 src=x onerror=alert(14)>\u200F`, aim: "Unicode bidi controls" },
  { id: 15, text: `javascript:alert(15)`, aim: "javascript: URL as text" },
  { id: 16, text: `<a id=xss16 href="javascript:alert(16)">link 16</a>`, aim: "javascript: link" },
  { id: 17, text: `<img id=xss17 src=x onerror=window.__xss=String([window.__xss,17])>`, aim: "onerror, window.__xss" },
  { id: 18, text: `<details id=xss18 open ontoggle=alert(18)>`, aim: "ontoggle without a click" },
  { id: 19, text: `a\u2028b\u2029</script><!--<svg id=xss19 onload=alert(19)>`, aim: "U+2028/U+2029 in script data" },
  {
    id: 20,
    text: `<math><mtext><table><mglyph><style><img id=xss20 src=x onerror=alert(20)>`,
    aim: "mutation XSS (MathML)",
  },
  { id: 21, text: `<noscript><p title="</noscript><img id=xss21 src=x onerror=alert(21)>">`, aim: "mutation XSS (noscript)" },
  { id: 22, text: "';alert(22);//\";alert(22);//`;alert(22);//", aim: "JavaScript string breakout" },
  { id: 23, text: `＜img id=xss23 src=x onerror=alert(23)＞`, aim: "full-width brackets (NFKC)" },
  { id: 24, text: `<svg><animate id=xss24 onbegin=alert(24) attributeName=x dur=1s>`, aim: "SVG animation handler" },
];

const dataHtml = Buffer.from("<script>alert(114)</script>").toString("base64");
const MARKDOWN: Payload[] = [
  { id: 101, text: `[md link 101](javascript:alert(101))`, aim: "javascript: link" },
  { id: 102, text: `![md image 102](javascript:alert(102))`, aim: "javascript: image" },
  { id: 103, text: `[md 103](JaVaScRiPt:alert(103))`, aim: "mixed-case scheme" },
  { id: 104, text: `[md 104](&#106;avascript:alert(104))`, aim: "entity in the scheme" },
  { id: 105, text: `[md 105](<javascript:alert(105)>)`, aim: "<angle> destination" },
  { id: 106, text: `<javascript:alert(106)>`, aim: "autolink" },
  { id: 107, text: `[md 107][ref107]\n\n[ref107]: javascript:alert(107)`, aim: "reference link" },
  { id: 108, text: `<a id=xss108 href="javascript:alert(108)">raw link 108</a>`, aim: "raw <a>" },
  { id: 109, text: `<img id=xss109 src=x onerror=alert(109)>`, aim: "raw <img onerror>" },
  { id: 110, text: `<details open ontoggle=alert(110)><summary>110</summary></details>`, aim: "raw <details>" },
  { id: 111, text: `<svg><script>alert(111)</script></svg>`, aim: "<svg><script>" },
  { id: 114, text: `[md 114](data:text/html;base64,${dataHtml})`, aim: "data:text/html link" },
  { id: 115, text: `<iframe id=xss115 srcdoc="<script>parent.alert(115)</script>"></iframe>`, aim: "raw <iframe>" },
  { id: 116, text: `| a | b |\n|---|---|\n| <img src=x onerror=alert(116)> | [t](javascript:alert(116)) |`, aim: "table cells" },
  {
    id: 117,
    text: `<form action="javascript:alert(117)"><button id=xss117 formaction="javascript:alert(117)">go</button></form>`,
    aim: "raw <form>",
  },
  { id: 118, text: `</textarea><script>alert(118)</script>`, aim: "ends the edit form's <textarea>" },
  {
    id: 119,
    text: `<style>@import "//xss.invalid/119.css";</style><div style="background:url(javascript:alert(119))">119</div>`,
    aim: "<style> and style attribute",
  },
  // Last: unclosed elements that may swallow what follows them.
  { id: 112, text: `<math><mtext><table><mglyph><style><img src=x onerror=alert(112)>`, aim: "mXSS (MathML)" },
  {
    id: 113,
    text: `<noscript><p title="</noscript><img id=xss113 src=x onerror=alert(113)>"></noscript>`,
    aim: "mXSS (noscript)",
  },
];

/** Valid e-mail addresses (lower case, no spaces) that are markup too. */
const EMAILS: Payload[] = [
  { id: 41, text: `x${run}"><svg/onload=alert(41)>@xss.example.org`, aim: "e-mail address" },
  { id: 42, text: `x${run}'><img/src/onerror=alert(42)>@xss.example.org`, aim: "e-mail address" },
  { id: 43, text: `x${run}</title><script>alert(43)</script>@xss.example.org`, aim: "e-mail address" },
];

const ALL_PAYLOADS = [...GENERAL, ...MARKDOWN, ...EMAILS];
const N = GENERAL.length;
const byId = new Map(ALL_PAYLOADS.map((payload) => [payload.id, payload]));
/** The general payload at position i (wrapping), so that field k of item i holds P(i + k). */
const P = (i: number) => GENERAL[((i % N) + N) % N];

/** Units the unit rule accepts (letters, digits, space / % . - _ °) but that are odd. */
const ODD_UNITS = ["°/% .-_ x", "ｐａｇｅｓ", "صفحات", "Ünïts/%"];

/** The event description: one general payload, then every Markdown payload. */
const description = (i: number) => [P(i + 3).text, ...MARKDOWN.map((m) => m.text)].join("\n\n");

// ---------------------------------------------------------------------------------------
// Where each payload is, for the messages

type Field = [label: string, payloadId: number];

/** Every field each payload was stored in, over the whole run (a fallback for messages). */
const storedAs = new Map<number, Set<string>>();
function stored(label: string, payload: Payload) {
  if (!storedAs.has(payload.id)) storedAs.set(payload.id, new Set());
  storedAs.get(payload.id)!.add(label);
}

const f = (label: string, payload: Payload): Field => [label, payload.id];

// ---------------------------------------------------------------------------------------
// What the browser reports

interface Recorder {
  dialogs: string[];
  pageErrors: string[];
  consoleErrors: string[];
  cspConsole: string[];
  requests: string[];
}

const recorders = new WeakMap<Page, Recorder>();

function equip(page: Page): Recorder {
  const recorder: Recorder = { dialogs: [], pageErrors: [], consoleErrors: [], cspConsole: [], requests: [] };
  page.on("dialog", (dialog) => {
    recorder.dialogs.push(`${dialog.type()}(${JSON.stringify(dialog.message())})`);
    dialog.dismiss().catch(() => {});
  });
  page.on("pageerror", (error) => recorder.pageErrors.push(error.message));
  page.on("console", (message) => {
    const text = message.text();
    if (/Content.Security.Policy/i.test(text)) recorder.cspConsole.push(text);
    else if (message.type() === "error" && !text.startsWith("Failed to load resource")) recorder.consoleErrors.push(text);
  });
  // Where payloads point: the meta refresh's target and the @import host (not a page whose
  // own query string merely carries a payload).
  page.on("request", (request) => {
    const url = new URL(request.url());
    if ((url.pathname === "/" && /^\?xss-refresh=\d+$/.test(url.search)) || url.hostname.endsWith("xss.invalid"))
      recorder.requests.push(request.url());
  });
  recorders.set(page, recorder);
  return recorder;
}

function reset(recorder: Recorder) {
  for (const list of Object.values(recorder) as string[][]) list.length = 0;
}

/** Installed in every frame before its scripts: CSP violations and the wasm start. */
function initScript() {
  const w = window as any;
  w.__cspViolations = [];
  document.addEventListener(
    "securitypolicyviolation",
    (event: SecurityPolicyViolationEvent) => {
      w.__cspViolations.push(
        `${event.effectiveDirective || event.violatedDirective} blocked ${event.blockedURI || "(inline)"}` +
          (event.sample ? ` sample «${event.sample}»` : "") +
          (event.sourceFile ? ` at ${event.sourceFile}:${event.lineNumber}` : ""),
      );
    },
    true,
  );
  // When the wasm is instantiated (the page's own chunk is fetched and hydrated after it).
  const wasm = WebAssembly as any;
  const ready = (promise: Promise<unknown>) =>
    promise.then((result) => {
      w.__wasmReady = true;
      return result;
    });
  if (typeof wasm.instantiateStreaming === "function") {
    const streaming = wasm.instantiateStreaming.bind(wasm);
    wasm.instantiateStreaming = (...args: unknown[]) => ready(streaming(...args));
  }
  const plain = wasm.instantiate.bind(wasm);
  wasm.instantiate = (...args: unknown[]) => ready(plain(...args));
}

interface Scan {
  found: string[];
  xss: string | null;
  csp: string[];
  templated: boolean;
}

/** Runs in the page: everything that says a payload became markup. */
function scanPage(): Scan {
  const w = window as any;
  const found = new Set<string>();
  const short = (el: Element) => el.outerHTML.replace(/\s+/g, " ").slice(0, 180);
  const badUrl = /^(javascript|vbscript|data:text\/html)/i;
  const urlAttributes = ["href", "src", "action", "formaction", "data", "xlink:href", "poster", "background"];
  for (const el of Array.from(document.querySelectorAll("*"))) {
    for (const attr of Array.from(el.attributes)) {
      const name = attr.name.toLowerCase();
      if (name.startsWith("on")) found.add(`event-handler attribute ${name}: ${short(el)}`);
      if (name === "srcdoc") found.add(`srcdoc attribute: ${short(el)}`);
      if (urlAttributes.includes(name) && badUrl.test(attr.value.replace(/[\u0000-\u0020]+/g, "")))
        found.add(`${name}=${attr.value}: ${short(el)}`);
    }
    const tag = el.localName;
    if (["iframe", "frame", "frameset", "object", "embed", "base", "applet", "portal"].includes(tag))
      found.add(`<${tag}> element: ${short(el)}`);
    if (tag === "meta" && /refresh|set-cookie/i.test(el.getAttribute("http-equiv") ?? ""))
      found.add(`<meta http-equiv>: ${short(el)}`);
    if (/^xss\d+$/i.test(el.id)) found.add(`element from a payload (id=${el.id}): ${short(el)}`);
    if (tag === "script" && /^\s*(parent\.|top\.)?(alert\(\d+\)|window\.__xss=)/.test(el.textContent ?? ""))
      found.add(`payload <script>: ${short(el)}`);
  }
  return {
    found: [...found],
    xss: w.__xss === undefined ? null : String(w.__xss),
    csp: [...(w.__cspViolations ?? [])],
    templated: (document.body?.innerText ?? "").includes("7007"),
  };
}

// ---------------------------------------------------------------------------------------
// Visits and findings

interface Visit {
  url: string;
  /** The page kind, for the report: "/events/{id}/edit". */
  route: string;
  /** Who looks: "organizer", "member 3", "anonymous". */
  who: string;
  context: BrowserContext;
  fields: Field[];
  /** Checks that the text reads as typed; returns what does not. */
  shows?: (page: Page) => Promise<string[]>;
}

interface Finding {
  route: string;
  url: string;
  who: string;
  fields: Field[];
  kind: string;
  payloads: number[];
  evidence: string;
}

const norm = (text: string) => text.replace(/[\t\n\f\r ]+/g, " ").trim();

/** The ids a piece of evidence names: alert(7), xss7, __xss "...,7". */
function payloadIds(evidence: string): number[] {
  const ids = new Set<number>();
  for (const match of evidence.matchAll(/alert\((\d+)\)|\bxss(\d+)\b|__xss,(\d+)|xss-refresh=(\d+)|xss\.invalid\/(\d+)/g)) {
    ids.add(Number(match[1] ?? match[2] ?? match[3] ?? match[4] ?? match[5]));
  }
  return [...ids].filter((id) => byId.has(id));
}

/** Content-Security-Policy: what is wrong with it for a page, if anything. */
function cspProblem(header: string | undefined): string | null {
  if (!header) return "no Content-Security-Policy header";
  const directives = new Map<string, string[]>();
  for (const part of header.split(";")) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name && !directives.has(name.toLowerCase())) directives.set(name.toLowerCase(), values);
  }
  const scripts = directives.get("script-src") ?? directives.get("default-src");
  if (!scripts) return `no script-src or default-src in "${header}"`;
  const hasNonce = scripts.some((value) => /^'nonce-[^']+'$/.test(value));
  if (!hasNonce) return `script-src without a nonce in "${header}"`;
  const loose = scripts.filter((value) => value === "*" || /^(https?|data|blob):$/i.test(value) || value === "'unsafe-eval'");
  if (loose.length) return `script-src allows ${loose.join(" ")} in "${header}"`;
  return null;
}

class Checker {
  findings: Finding[] = [];
  badCsp = new Map<string, string>();
  loads = 0;

  add(visit: Visit, url: string, kind: string, evidence: string, payloads: number[] = payloadIds(evidence)) {
    const where = url.endsWith(visit.url) ? visit.url : `${visit.url} (now at ${url.replace(origin, "")})`;
    this.findings.push({ route: visit.route, url: where, who: visit.who, fields: visit.fields, kind, payloads, evidence });
  }

  /** Waits for the wasm to start and hydrate the page; false (and a finding) if it does not. */
  async settle(page: Page, visit: Visit): Promise<boolean> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      // Set by the wasm entry once the page is hydrated, its lazily loaded code included.
      const ready = await page.evaluate(() => (window as any).__cohortHydrated === true).catch(() => false);
      if (ready) break;
      if (Date.now() > deadline) {
        this.add(visit, page.url(), "did not hydrate", "the wasm did not start and hydrate within 10 s", []);
        return false;
      }
      await page.waitForTimeout(50);
    }
    // Hydration runs right after the instantiation; effects, image errors and handlers next.
    await page.evaluate(() => new Promise((done) => setTimeout(done, 100))).catch(() => {});
    const marker = page.locator("[data-hydrated]").first();
    if ((await marker.count()) > 0) {
      try {
        await expect(marker).toHaveAttribute("data-hydrated", "true", { timeout: 5_000 });
      } catch {
        this.add(visit, page.url(), "did not hydrate", "data-hydrated never turned true", []);
      }
    }
    return true;
  }

  /** Everything the page and the browser say about the payloads now. */
  async inspect(page: Page, visit: Visit) {
    const recorder = recorders.get(page)!;
    const url = page.url();
    let scan: Scan | null = null;
    try {
      scan = await page.evaluate(scanPage);
    } catch (error) {
      this.add(visit, url, "page went away", String(error).split("\n")[0]);
    }
    for (const dialog of recorder.dialogs) this.add(visit, url, "script ran", `dialog ${dialog}`, payloadIds(`alert(${dialog.match(/\d+/)?.[0]})`));
    if (scan?.xss) this.add(visit, url, "script ran", `window.__xss = "${scan.xss}"`, scan.xss.split(",").filter(Boolean).map(Number));
    for (const found of scan?.found ?? []) this.add(visit, url, "markup injected", found);
    // The console repeats the page's violations; it alone reports those of frames.
    const violations = scan?.csp.length ? scan.csp : recorder.cspConsole;
    for (const violation of violations) this.add(visit, url, "CSP violation", violation);
    for (const request of recorder.requests) this.add(visit, url, "payload URL requested", request);
    for (const error of recorder.pageErrors) this.add(visit, url, "page error", error);
    for (const error of recorder.consoleErrors) this.add(visit, url, "console error", error);
    if (scan?.templated) this.add(visit, url, "template evaluated", "the page shows 7007 ({{7*1001}})", [8]);
    if (scan && visit.shows) {
      try {
        for (const wrong of await visit.shows(page)) this.add(visit, url, "shown wrongly", wrong);
      } catch (error) {
        this.add(visit, url, "shown wrongly", `could not read the page: ${String(error).split("\n")[0]}`, []);
      }
    }
    reset(recorder);
  }

  /** Loads a page, lets it hydrate, optionally acts on it, and inspects it. */
  async visit(page: Page, visit: Visit, act?: (page: Page) => Promise<void>) {
    const recorder = recorders.get(page) ?? equip(page);
    reset(recorder);
    this.loads++;
    let response: Awaited<ReturnType<Page["goto"]>> = null;
    try {
      response = await page.goto(visit.url, { waitUntil: "load" });
    } catch (error) {
      this.add(visit, visit.url, "load failed", String(error).split("\n")[0], []);
      return;
    }
    if (!response || response.status() !== 200) {
      this.add(visit, visit.url, "HTTP status", `answered ${response?.status()}`, []);
    }
    const headers = response?.headers() ?? {};
    const problem = cspProblem(headers["content-security-policy"]);
    if (problem && !this.badCsp.has(visit.route)) {
      const about = `HTTP ${response?.status()}, ${headers["content-type"]}, ${headers["content-length"] ?? "no length"} bytes, as ${visit.who}`;
      this.badCsp.set(visit.route, `${visit.url}: ${problem} (${about})`);
    }
    const hydrated = await this.settle(page, visit);
    if (act && hydrated) {
      await this.inspect(page, visit);
      try {
        await act(page);
      } catch (error) {
        this.add(visit, page.url(), "form failed", String(error).split("\n").slice(0, 3).join(" "), []);
      }
    }
    await this.inspect(page, visit);
  }

  /** Many visits, a few pages at a time; a worker keeps its page while the browser context stays. */
  async visitAll(visits: Visit[], concurrency = CONCURRENCY) {
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(concurrency, visits.length) }, async () => {
        let page: Page | null = null;
        while (next < visits.length) {
          const visit = visits[next++];
          if (page && page.context() !== visit.context) {
            await page.close();
            page = null;
          }
          if (!page) {
            page = await visit.context.newPage();
            equip(page);
          }
          await this.visit(page, visit);
        }
        await page?.close();
      }),
    );
  }

  /** One line per finding: page, who, what, and which payload in which field. */
  describe(finding: Finding): string {
    const fields = finding.fields;
    const payloads = finding.payloads.length
      ? finding.payloads
          .map((id) => {
            const here = fields.filter(([, payloadId]) => payloadId === id).map(([label]) => label);
            const where = here.length ? here : [...(storedAs.get(id) ?? [])].map((label) => `${label} (elsewhere)`);
            return `payload #${id} ${JSON.stringify(byId.get(id)?.text)} [${byId.get(id)?.aim}] in ${[...new Set(where)].join(", ") || "?"}`;
          })
          .join("; ")
      : "no payload named";
    return `${finding.url} (as ${finding.who}) — ${finding.kind}: ${payloads} — evidence: ${finding.evidence}`;
  }
}

// ---------------------------------------------------------------------------------------
// Storing through the server functions the forms post to

let origin = "";

async function call(request: APIRequestContext, name: string, form: Record<string, string>): Promise<APIResponse> {
  const response = await request.post(`${origin}/api/${name}`, {
    headers: { Origin: origin, Accept: "application/json" },
    form,
    maxRedirects: 0,
  });
  if (response.status() >= 400) {
    throw new Error(`${name}(${JSON.stringify(form).slice(0, 300)}) answered ${response.status()}: ${await response.text()}`);
  }
  return response;
}

/** A server function that answers FormErrors: refuses the run when any field was refused. */
async function callForm(request: APIRequestContext, name: string, form: Record<string, string>) {
  const response = await call(request, name, form);
  const errors = await response.json();
  if (errors && ((errors.fields ?? []).length || errors.form)) {
    throw new Error(`${name} refused ${JSON.stringify(form).slice(0, 400)}: ${JSON.stringify(errors)}`);
  }
  return response;
}

async function inBatches<T>(items: T[], size: number, work: (item: T, index: number) => Promise<void>) {
  for (let start = 0; start < items.length; start += size) {
    await Promise.all(items.slice(start, start + size).map((item, offset) => work(item, start + offset)));
  }
}

async function newContext(browser: Browser): Promise<BrowserContext> {
  const { viewport, userAgent, deviceScaleFactor } = test.info().project.use;
  const context = await browser.newContext({ baseURL: origin, timezoneId: zone, viewport, userAgent, deviceScaleFactor });
  await context.addInitScript(initScript);
  return context;
}

/** A multipart upload as a script would send it: the file name's quotes escaped as \" (RFC 7578 allows it; multer reads it back). */
async function uploadRaw(request: APIRequestContext, filename: string, csv: string): Promise<number> {
  const boundary = `----cohort-xss-${Math.random().toString(16).slice(2)}`;
  const body = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename.replace(/"/g, '\\"')}"\r\n` +
        `Content-Type: text/csv\r\n\r\n`,
    ),
    Buffer.from(csv),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const response = await request.post(`${origin}/track/import`, {
    headers: { Origin: origin, "Content-Type": `multipart/form-data; boundary=${boundary}` },
    data: body,
    maxRedirects: 0,
  });
  const location = response.headers()["location"] ?? "";
  const id = location.match(/^\/track\/import\/(\d+)$/)?.[1];
  if (!id) throw new Error(`uploading ${JSON.stringify(filename)} answered ${response.status()} → ${location}`);
  return Number(id);
}

const csvCell = (text: string) => `"${text.replace(/"/g, '""')}"`;
const csvLine = (cells: string[]) => cells.map(csvCell).join(",");

// ---------------------------------------------------------------------------------------

/**
 * A cohort server of this spec's own, on a fresh data directory without the demo: the
 * payloads stay out of the shared server (whose home page the other specs read), and the
 * server's log can be attached to the report.
 */
async function startServer(): Promise<{ origin: string; dataDir: string; log: () => string; stop: () => Promise<void> }> {
  const probe = createServer();
  await new Promise<void>((done) => probe.listen(0, "127.0.0.1", done));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((done) => probe.close(done));
  const dataDir = mkdtempSync(join(tmpdir(), "cohort-xss-"));
  chmodSync(dataDir, 0o711); // reachable by the PostgreSQL user when the tests run as root
  const server = spawn(bin, ["serve", "--data-dir", dataDir, "--addr", `127.0.0.1:${port}`, "--site-root", siteRoot, "--no-demo"], {
    cwd: repo,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-200_000);
  };
  server.stdout!.on("data", keep);
  server.stderr!.on("data", keep);
  const exited = new Promise<void>((done) => server.once("exit", () => done()));
  const serverOrigin = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`cohort serve exited with ${server.exitCode}:\n${log}`);
    const up = await fetch(`${serverOrigin}/healthz`).then((r) => r.ok, () => false);
    if (up) break;
    if (Date.now() > deadline) {
      server.kill("SIGTERM");
      throw new Error(`cohort serve did not answer /healthz within 120 s:\n${log}`);
    }
    await new Promise((done) => setTimeout(done, 250));
  }
  return {
    origin: serverOrigin,
    dataDir,
    log: () => log,
    stop: async () => {
      // SIGTERM lets cohort stop its PostgreSQL cleanly.
      server.kill("SIGTERM");
      const timer = setTimeout(() => server.kill("SIGKILL"), 30_000);
      await exited;
      clearTimeout(timer);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

let serverDataDir = "";
let serverLog: () => string = () => "";

test("stored payloads in every text field never run, on every page that shows them", async ({ browser }, testInfo) => {
  test.skip(testInfo.project.name !== "desktop", "the phone renders the same HTML");
  test.setTimeout(300_000);
  const server = await startServer();
  origin = server.origin;
  serverDataDir = server.dataDir;
  serverLog = server.log;
  try {
    await scenario(browser, testInfo);
  } finally {
    await server.stop();
  }
});

async function scenario(browser: Browser, testInfo: TestInfo) {
  for (const payload of GENERAL) {
    expect(payload.text.length, `payload #${payload.id} fits every field (80 characters)`).toBeLessThanOrEqual(80);
  }
  const started = Date.now();
  const phases: string[] = [];
  const phase = (name: string) => phases.push(`${name}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const checker = new Checker();

  // ---- The organizer: an instance admin (from the command line) who opens the groups.
  const admin = await newContext(browser);
  const adminEmail = `xss-admin-${run}@example.org`;
  await callForm(admin.request, "signup", { email: adminEmail, display_name: "XSS Organizer", password, time_zone: zone });
  execFileSync(bin, ["admin", "grant", adminEmail, "--data-dir", serverDataDir]);

  // Groups: name P(i), city P(i + 1). Group 0 holds the meetups.
  const slugs = GENERAL.map((_, i) => `xss-${run}-${i}`);
  await inBatches(GENERAL, 4, async (_, i) => {
    await callForm(admin.request, "create_group", { name: P(i).text, slug: slugs[i], city: P(i + 1).text, time_zone: zone });
    stored("group name", P(i));
    stored("group city", P(i + 1));
  });
  const home = slugs[0];

  // Members: display name P(i); the first three have markup e-mail addresses.
  const members: { context: BrowserContext; email: string; name: Payload }[] = [];
  await inBatches(GENERAL, 4, async (payload, i) => {
    const context = await newContext(browser);
    const email = i < EMAILS.length ? EMAILS[i].text : `xss-member-${i}-${run}@example.org`;
    await callForm(context.request, "signup", { email, display_name: payload.text, password, time_zone: zone });
    await call(context.request, "join_group", { slug: home });
    members[i] = { context, email, name: payload };
    stored("display name", payload);
    if (i < EMAILS.length) stored("e-mail address", EMAILS[i]);
  });
  phase("accounts and groups");

  // ---- Meetups: made plain, answered, then edited to the payloads (so that the
  // "Changed" e-mails carry them), then comments and talks.
  const eventIds: number[] = [];
  const eventForm = (i: number, fields: Record<string, string>) => ({
    group_slug: home,
    title: `Plain meetup ${i}`,
    body_md: "Plain.",
    date: new Date(Date.now() + (10 + i) * 86_400_000).toISOString().slice(0, 10),
    start_time: "18:30",
    end_time: "20:30",
    time_zone: zone,
    venue: "",
    address: "",
    online_url: "",
    capacity: "",
    max_guests: "",
    rsvp_opens: "",
    rsvp_closes: "",
    offer_window_hours: "",
    repeat: "none",
    ...fields,
  });
  await inBatches(GENERAL, 4, async (_, i) => {
    const response = await callForm(admin.request, "save_event", eventForm(i, {}));
    const id = response.headers()["location"]?.match(/^\/events\/(\d+)$/)?.[1];
    if (!id) throw new Error(`save_event gave no /events/{id} location: ${JSON.stringify(response.headers())}`);
    eventIds[i] = Number(id);
  });
  await inBatches(GENERAL, 4, async (_, i) => {
    await call(members[i].context.request, "rsvp", { event_id: String(eventIds[i]), answer: "yes" });
    if (i !== 0) await call(members[i].context.request, "rsvp", { event_id: String(eventIds[0]), answer: "yes" });
  });
  await inBatches(GENERAL, 4, async (_, i) => {
    await callForm(
      admin.request,
      "save_event",
      eventForm(i, {
        event_id: String(eventIds[i]),
        title: P(i).text,
        venue: P(i + 1).text,
        address: P(i + 2).text,
        body_md: description(i),
        online_url: `https://example.org/?q=${P(i + 4).text}`,
      }),
    );
    stored("event title", P(i));
    stored("venue", P(i + 1));
    stored("address", P(i + 2));
    stored("description (Markdown)", P(i + 3));
    stored("online link", P(i + 4));
  });
  for (const m of MARKDOWN) stored("description (Markdown)", m);
  await inBatches(GENERAL, 4, async (_, i) => {
    const request = members[i].context.request;
    const event_id = String(eventIds[i]);
    await call(request, "post_comment", { event_id, body: P(i + 5).text });
    await callForm(request, "propose_talk", { event_id, title: P(i + 6).text, abstract_text: P(i + 7).text, minutes: "10" });
    await callForm(request, "propose_talk", { event_id, title: P(i + 8).text, abstract_text: P(i + 9).text, minutes: "5" });
    const detail = await (await call(admin.request, "get_event", { id: event_id })).json();
    const talk = detail.talks.find((t: { title: string }) => t.title === P(i + 6).text.trim());
    if (!talk) throw new Error(`the talk ${JSON.stringify(P(i + 6).text)} is not on event ${event_id}: ${JSON.stringify(detail.talks)}`);
    await call(admin.request, "decide_talk", { talk_id: String(talk.id), decision: "accept" });
    stored("comment", P(i + 5));
    stored("talk title", P(i + 6));
    stored("talk abstract", P(i + 7));
    stored("proposed talk title", P(i + 8));
    stored("proposed talk abstract", P(i + 9));
  });
  phase("meetups, comments, talks");

  // ---- Tracking: a metric per payload (name P(i), unit P(i + 1) if the unit rule takes
  // it), a value with the note P(i + 2) and #tags.
  const metricKeys: string[] = [];
  const unitRefusals: string[] = [];
  await inBatches(GENERAL, 4, async (_, i) => {
    const form = { name: P(i).text, kind: "quantity", unit: P(i + 1).text, aggregate: "sum", min: "", max: "", goal: "" };
    let response = await call(admin.request, "create_metric", form);
    const errors = await response.json();
    if ((errors.fields ?? []).length) {
      // Only the unit may be refused: the rule takes letters, digits, space and / % . - _ °.
      expect(errors.fields.map(([field]: [string, string]) => field), `create_metric ${JSON.stringify(form)}`).toEqual(["unit"]);
      unitRefusals.push(`#${P(i + 1).id}`);
      response = await callForm(admin.request, "create_metric", { ...form, unit: ODD_UNITS[i % ODD_UNITS.length] });
    } else {
      stored("metric unit", P(i + 1));
    }
    const key = response.headers()["location"]?.match(/^\/track\/([a-z0-9-]+)$/)?.[1];
    if (!key) throw new Error(`create_metric gave no /track/{key} location: ${JSON.stringify(response.headers())}`);
    metricKeys[i] = key;
    await call(admin.request, "log_entry", {
      metric: key,
      value: "1",
      note: `${P(i + 2).text} #xss-tag #ｔａｇ${i}`,
      key: `xss-${run}-${i}`,
    });
    stored("metric name", P(i));
    stored("note", P(i + 2));
  });

  // ---- API tokens: name P(i); every other one revoked (both kinds are listed).
  for (let i = 0; i < N; i++) {
    const token = await (await call(admin.request, "create_token", { name: P(i).text, scope: i % 2 ? "write" : "read" })).json();
    if (i % 2) await call(admin.request, "revoke_token", { id: String(token.id) });
    stored("API token name", P(i));
  }

  // ---- CSV files: one per payload as file name (a script's upload, raw quotes).
  const importIds: number[] = [];
  await inBatches(GENERAL, 4, async (payload, i) => {
    importIds[i] = await uploadRaw(admin.request, payload.text, "Date,Steps\n2025-01-02,1000\n");
    stored("CSV file name", payload);
  });
  phase("metrics, notes, tokens, uploads");

  // ---- Pages that show the meetups as the organizer, before they are cancelled.
  const allMemberNames = members.map((m): Field => ["display name", m.name.id]);
  const eventFields = (i: number, cancelled: boolean): Field[] => [
    f("event title", P(i)),
    f("venue", P(i + 1)),
    f("address", P(i + 2)),
    f("description (Markdown)", P(i + 3)),
    ...MARKDOWN.map((m) => f("description (Markdown)", m)),
    f("online link", P(i + 4)),
    f("comment", P(i + 5)),
    f("talk title", P(i + 6)),
    f("talk abstract", P(i + 7)),
    f("proposed talk title", P(i + 8)),
    f("proposed talk abstract", P(i + 9)),
    ...(cancelled ? [f("cancellation reason", P(i + 10))] : []),
    f("group name", P(0)),
    ...(i === 0 ? allMemberNames : [f("display name", members[i].name)]),
  ];
  const formShows = (i: number, copy: boolean) => async (page: Page) => {
    const wrong: string[] = [];
    const title = P(i).text.trim() + (copy ? " (copy)" : "");
    const values = await page.evaluate(() => ({
      title: (document.querySelector("#ev-title") as HTMLInputElement | null)?.value,
      body: (document.querySelector("#ev-body") as HTMLTextAreaElement | null)?.value,
      venue: (document.querySelector("#ev-venue") as HTMLInputElement | null)?.value,
      address: (document.querySelector("#ev-address") as HTMLInputElement | null)?.value,
    }));
    if (values.title !== title) wrong.push(`title input reads ${JSON.stringify(values.title)}, not ${JSON.stringify(title)} (payload #${P(i).id})`);
    if (values.body !== description(i))
      wrong.push(`description <textarea> reads ${JSON.stringify(values.body?.slice(0, 200))}…, not the stored Markdown (payloads #${P(i + 3).id}, #101-#119)`);
    if (values.venue !== P(i + 1).text.trim()) wrong.push(`venue input reads ${JSON.stringify(values.venue)} (payload #${P(i + 1).id})`);
    if (values.address !== P(i + 2).text.trim()) wrong.push(`address input reads ${JSON.stringify(values.address)} (payload #${P(i + 2).id})`);
    return wrong;
  };
  const titleShows = (text: string, id: number, heading = "h1") => async (page: Page) => {
    const wrong: string[] = [];
    const seen = await page.evaluate((selector) => ({ title: document.title, heading: document.querySelector(selector)?.textContent ?? null }), heading);
    const expected = `${text.trim()} · Cohort`;
    if (norm(seen.title) !== norm(expected)) wrong.push(`document.title is ${JSON.stringify(seen.title)}, not ${JSON.stringify(expected)} (payload #${id})`);
    if (seen.heading !== text.trim()) wrong.push(`${heading} reads ${JSON.stringify(seen.heading)}, not ${JSON.stringify(text.trim())} (payload #${id})`);
    return wrong;
  };
  const organizerEventVisits: Visit[] = GENERAL.flatMap((_, i): Visit[] => [
    {
      url: `/events/${eventIds[i]}`,
      route: "/events/{id}",
      who: "organizer",
      context: admin,
      fields: eventFields(i, false),
      shows: titleShows(P(i).text, P(i).id, "article.event h1"),
    },
    {
      url: `/events/${eventIds[i]}/edit`,
      route: "/events/{id}/edit",
      who: "organizer",
      context: admin,
      fields: eventFields(i, false),
      shows: formShows(i, false),
    },
    {
      url: `/groups/${home}/events/new?from=${eventIds[i]}`,
      route: "/groups/{slug}/events/new?from={id}",
      who: "organizer",
      context: admin,
      fields: eventFields(i, false),
      shows: formShows(i, true),
    },
    {
      url: `/events/${eventIds[i]}/manage`,
      route: "/events/{id}/manage",
      who: "organizer",
      context: admin,
      fields: [f("event title", P(i)), ...allMemberNames],
    },
  ]);
  await checker.visitAll(organizerEventVisits);
  phase(`organizer's meetup pages (${organizerEventVisits.length})`);

  // ---- Client-side rendering: forms used in the browser, and what they render.
  const uiPage = await admin.newPage();
  equip(uiPage);
  const ui = (route: string, url: string, fields: Field[], shows?: Visit["shows"]): Visit => ({
    url,
    route: `UI: ${route}`,
    who: "organizer",
    context: admin,
    fields,
    shows,
  });
  // A group opened from /groups.
  const uiGroup = P(1);
  await checker.visit(uiPage, ui("open a group on /groups", "/groups", [f("group name", uiGroup), f("group city", P(2))]), async (page) => {
    await page.getByText("Open a new group").click();
    await page.locator("#group-name").fill(uiGroup.text);
    await page.locator("#group-slug").fill(`xss-${run}-ui`);
    await page.locator("#group-city").fill(P(2).text);
    await page.locator("#group-tz").fill(zone);
    await page.getByRole("button", { name: "Open the group" }).click();
    await expect(page).toHaveURL(new RegExp(`/groups/xss-${run}-ui$`));
    await expect(page.locator("h1")).toHaveCount(1);
    await page.waitForTimeout(200);
  });
  stored("group name", uiGroup);
  // A meetup made with the form: its page is rendered in the browser.
  const uiTitle = P(3);
  await checker.visit(
    uiPage,
    ui("new meetup form", `/groups/${home}/events/new`, [
      f("event title", uiTitle),
      f("venue", P(4)),
      f("address", P(5)),
      f("description (Markdown)", P(6)),
      ...MARKDOWN.map((m) => f("description (Markdown)", m)),
    ]),
    async (page) => {
      await page.getByLabel("Title").fill(uiTitle.text);
      await page.getByLabel("Description (Markdown)").fill(description(3));
      await page.getByLabel("Date", { exact: true }).fill(new Date(Date.now() + 40 * 86_400_000).toISOString().slice(0, 10));
      await page.getByLabel("Starts").fill("18:30");
      await page.getByLabel("Ends").fill("20:30");
      await page.locator("#ev-venue").fill(P(4).text);
      await page.locator("#ev-address").fill(P(5).text);
      await page.getByRole("button", { name: "Create the meetup" }).click();
      await expect(page).toHaveURL(/\/events\/\d+$/);
      await expect(page.locator("article.event h1")).toHaveCount(1);
      await page.waitForTimeout(200);
    },
  );
  stored("event title", uiTitle);
  // A comment and a talk proposal posted from an event page.
  await checker.visit(
    uiPage,
    ui("comment and talk forms", `/events/${eventIds[1]}`, [...eventFields(1, false), f("comment", P(12)), f("proposed talk title", P(13)), f("proposed talk abstract", P(14))]),
    async (page) => {
      const comments = page.locator(".comment-list .comment");
      const before = await comments.count();
      await page.locator("#comment-body").fill(P(12).text);
      await page.getByRole("button", { name: "Post" }).click();
      await expect(comments).toHaveCount(before + 1);
      await checker.inspect(page, ui("comment form (after posting)", page.url(), [...eventFields(1, false), f("comment", P(12))]));
      await page.getByText("Propose a talk").click();
      await page.locator("#talk-title").fill(P(13).text);
      await page.locator("#talk-abstract").fill(P(14).text);
      await page.getByRole("button", { name: "Propose" }).click();
      await expect(page.locator(".proposals li")).toHaveCount(2);
      await page.waitForTimeout(200);
    },
  );
  stored("comment", P(12));
  stored("proposed talk title", P(13));
  // A metric added on /track and a value logged on its page, with a note.
  // Every payload names a metric already; a second metric may not share a name.
  const uiMetric = P(15);
  const uiMetricName = `${uiMetric.text} (form)`;
  await checker.visit(uiPage, ui("add a metric on /track", "/track", [f("metric name", uiMetric)]), async (page) => {
    await page.getByText("Add your own metric").click();
    await page.locator("#metric-name").fill(uiMetricName);
    await page.locator("#metric-unit").fill("ｐａｇｅｓ");
    await page.getByRole("button", { name: "Add metric" }).click();
    await expect(page).toHaveURL(/\/track\/[a-z0-9-]+$/);
    await expect(page.locator(".metric-page h1")).toHaveCount(1);
    await page.waitForTimeout(200);
    await checker.inspect(page, ui("metric page after adding", page.url(), [f("metric name", uiMetric)], titleShows(uiMetricName, uiMetric.id, ".metric-page h1")));
    const card = page.locator(".log-card").first();
    await card.locator('input[name="value"]').fill("3");
    await card.getByText("Time & note").click();
    await card.locator('input[name="note"]').fill(`${P(16).text} #ui-tag`);
    await card.getByRole("button", { name: "Log" }).click();
    await expect(page.locator(".log-result")).toBeVisible();
    await expect(page.locator(".entries .entry")).toHaveCount(1);
    await page.waitForTimeout(200);
  });
  stored("metric name", uiMetric);
  stored("note", P(16));
  // A token made on /me/tokens: the one-time notice is rendered in the browser.
  const uiToken = P(17);
  await checker.visit(uiPage, ui("create a token on /me/tokens", "/me/tokens", [f("API token name", uiToken)]), async (page) => {
    await page.locator("#token-name").fill(uiToken.text);
    await page.getByRole("button", { name: "Create token" }).click();
    await expect(page.locator(".new-token")).toBeVisible();
    await page.waitForTimeout(200);
  });
  stored("API token name", uiToken);
  // Two CSV files through the browser's upload: one left at its preview (header and cells
  // are payloads), one imported with rows the import refuses, quoting the cells.
  const headerPayloads = [P(0), P(2), P(8), P(4), P(20)]; // none contains ; | or a tab
  let previewCsv = csvLine(headerPayloads.map((p) => p.text)) + "\n";
  for (let row = 0; row < 8; row++) previewCsv += csvLine([0, 1, 2, 3, 4].map((c) => P(row * 5 + c).text)) + "\n";
  const previewName = P(8);
  let previewId = 0;
  await checker.visit(uiPage, ui("upload a CSV file (preview)", "/track/import", []), async (page) => {
    await page.locator("#import-file").setInputFiles({ name: previewName.text, mimeType: "text/csv", buffer: Buffer.from(previewCsv) });
    await page.getByRole("button", { name: "Upload and preview" }).click();
    await expect(page).toHaveURL(/\/track\/import\/\d+$/);
    previewId = Number(page.url().match(/(\d+)$/)![1]);
    await checker.settle(page, ui("CSV preview", page.url(), []));
  });
  stored("CSV file name (browser upload)", previewName);
  for (const p of headerPayloads) stored("CSV header", p);
  for (let c = 0; c < 40; c++) stored("CSV cell", P(c));
  let importCsv = csvLine(headerPayloads.map((p) => p.text)) + "\n";
  GENERAL.forEach((_, i) => {
    const day = String(1 + (i % 28)).padStart(2, "0");
    importCsv += csvLine([`2025-03-${day} 08:${String(i).padStart(2, "0")}`, P(i).text, "2", "", `${P(i + 3).text} #csv`]) + "\n";
    importCsv += csvLine([`2025-04-${day} 08:${String(i).padStart(2, "0")}`, "mood", P(i).text, "", ""]) + "\n";
  });
  for (let i = 0; i < 4; i++) {
    importCsv += csvLine([`2025-05-0${i + 1} 08:00`, `${P(i + 10).text} unknown`, "1", "", ""]) + "\n";
    importCsv += csvLine([`2025-05-1${i + 1} 08:00`, "weight", "70", P(i + 14).text, ""]) + "\n";
  }
  const importName = P(2);
  let importedId = 0;
  await checker.visit(uiPage, ui("upload and import a CSV file", "/track/import", []), async (page) => {
    await page.locator("#import-file").setInputFiles({ name: importName.text, mimeType: "text/csv", buffer: Buffer.from(importCsv) });
    await page.getByRole("button", { name: "Upload and preview" }).click();
    await expect(page).toHaveURL(/\/track\/import\/\d+$/);
    importedId = Number(page.url().match(/(\d+)$/)![1]);
    await checker.settle(page, ui("CSV mapping", page.url(), []));
    for (const [column, role] of ["time", "metric", "value", "unit", "note"].entries()) {
      await page.locator(`select[name="col${column}"]`).selectOption(role);
    }
    await page.getByRole("button", { name: "Import", exact: true }).click();
    await expect(page.locator(".import-progress .status")).toHaveText("done", { timeout: 30_000 });
    await page.waitForTimeout(200);
  });
  stored("CSV file name (browser upload)", importName);
  for (let i = 0; i < N; i++) {
    stored("CSV cell (metric name)", P(i));
    stored("CSV cell (note)", P(i + 3));
    stored("CSV cell (value, quoted in the refusal)", P(i));
  }
  await uiPage.close();
  phase("forms in the browser");

  // ---- Cancel every meetup with a reason; the members are told by e-mail.
  await inBatches(GENERAL, 4, async (_, i) => {
    await call(admin.request, "cancel_event", { event_id: String(eventIds[i]), reason: P(i + 10).text });
    stored("cancellation reason", P(i + 10));
  });
  // Wait for the e-mails (confirmations, changes, cancellations) to be written.
  const outboxDeadline = Date.now() + 45_000;
  let cancelledMails = 0;
  while (Date.now() < outboxDeadline) {
    const outbox: { subject: string }[] = await (await call(admin.request, "get_outbox", {})).json();
    cancelledMails = outbox.filter((mail) => mail.subject.startsWith("Cancelled:")).length;
    if (cancelledMails >= 2 * N - 1) break;
    await new Promise((done) => setTimeout(done, 500));
  }
  phase("cancelled, e-mails written");

  // ---- Everything else that shows the payloads.
  const anonymous = await newContext(browser);
  const everyEventField: Field[] = GENERAL.flatMap((_, i) => [f("event title", P(i)), f("venue", P(i + 1)), f("address", P(i + 2))]);
  const everyGroupField: Field[] = GENERAL.flatMap((_, i) => [f("group name", P(i)), f("group city", P(i + 1))]);
  const metricFields = (i: number): Field[] => [
    f("metric name", P(i)),
    f("metric unit", P(i + 1)),
    f("note", P(i + 2)),
    f("CSV cell (note)", P(i + 3)),
    ...everyGroupField.filter(([label]) => label === "group name"),
  ];
  const importFields: Field[] = [
    ...GENERAL.map((p) => f("metric name (in the column <option>s)", p)),
    ...GENERAL.map((p) => f("CSV cell", p)),
    ...headerPayloads.map((p) => f("CSV header", p)),
  ];
  const visits: Visit[] = [
    { url: "/", route: "/", who: "organizer", context: admin, fields: [...everyGroupField, ...everyEventField, f("event title", uiTitle)] },
    { url: "/", route: "/", who: "anonymous", context: anonymous, fields: [...everyGroupField, ...everyEventField, f("event title", uiTitle)] },
    { url: "/groups", route: "/groups", who: "organizer", context: admin, fields: [...everyGroupField, f("group name", uiGroup)] },
    ...GENERAL.map(
      (_, i): Visit => ({
        url: `/groups/${slugs[i]}`,
        route: "/groups/{slug}",
        who: "organizer",
        context: admin,
        fields: [f("group name", P(i)), f("group city", P(i + 1)), ...(i === 0 ? [...everyEventField, ...allMemberNames] : [])],
        shows: titleShows(P(i).text, P(i).id, ".group-intro h1"),
      }),
    ),
    ...GENERAL.map(
      (_, i): Visit => ({
        url: `/events/${eventIds[i]}`,
        route: "/events/{id}",
        who: "anonymous",
        context: anonymous,
        fields: eventFields(i, true),
      }),
    ),
    { url: "/track", route: "/track", who: "organizer", context: admin, fields: GENERAL.flatMap((_, i) => metricFields(i)) },
    { url: "/dashboard", route: "/dashboard", who: "organizer", context: admin, fields: GENERAL.flatMap((_, i) => metricFields(i)) },
    ...GENERAL.map(
      (_, i): Visit => ({
        url: `/track/${metricKeys[i]}`,
        route: "/track/{metric}",
        who: "organizer",
        context: admin,
        fields: metricFields(i),
        shows: titleShows(P(i).text, P(i).id, ".metric-page h1"),
      }),
    ),
    {
      url: "/track/import",
      route: "/track/import",
      who: "organizer",
      context: admin,
      fields: [...GENERAL.map((p) => f("CSV file name", p)), f("CSV file name (browser upload)", previewName), f("CSV file name (browser upload)", importName)],
    },
    ...GENERAL.map(
      (payload, i): Visit => ({
        url: `/track/import/${importIds[i]}`,
        route: "/track/import/{id}",
        who: "organizer",
        context: admin,
        fields: [f("CSV file name", payload), ...importFields],
        shows: async (page) => {
          const heading = await page.locator(".import-page h1").textContent();
          return heading === payload.text.trim() ? [] : [`file name heading reads ${JSON.stringify(heading)}, not ${JSON.stringify(payload.text)} (payload #${payload.id})`];
        },
      }),
    ),
    { url: `/track/import/${previewId}`, route: "/track/import/{id}", who: "organizer", context: admin, fields: [f("CSV file name (browser upload)", previewName), ...importFields] },
    {
      url: `/track/import/${importedId}`,
      route: "/track/import/{id}",
      who: "organizer",
      context: admin,
      fields: [f("CSV file name (browser upload)", importName), ...GENERAL.map((p) => f("CSV cell (quoted in a refusal)", p))],
    },
    {
      url: "/me/tokens",
      route: "/me/tokens",
      who: "organizer",
      context: admin,
      fields: [...GENERAL.map((p) => f("API token name", p)), f("API token name", uiToken)],
      shows: async (page) => {
        const names = await page.locator(".token-list li strong").allTextContents();
        return GENERAL.filter((p) => !names.includes(p.text.trim())).map((p) => `token name ${JSON.stringify(p.text)} is not listed as typed (payload #${p.id})`);
      },
    },
    { url: "/me", route: "/me", who: "organizer", context: admin, fields: [] },
    {
      url: "/admin/outbox",
      route: "/admin/outbox",
      who: "organizer (instance admin)",
      context: admin,
      fields: [...everyEventField, ...allMemberNames, ...EMAILS.map((p) => f("e-mail address", p)), ...GENERAL.map((p) => f("cancellation reason", p)), f("group name", P(0))],
    },
    { url: "/admin/jobs", route: "/admin/jobs", who: "organizer (instance admin)", context: admin, fields: [] },
    // Each member: their profile; some, their (cancelled) meetup as a member sees it
    // (member 0's has every member's name; anonymous visitors see the others below).
    ...members.flatMap((member, i): Visit[] => [
      {
        url: "/me",
        route: "/me",
        who: `member ${i}`,
        context: member.context,
        fields: [f("display name", member.name), ...(i < EMAILS.length ? [f("e-mail address", EMAILS[i])] : [])],
        shows: async (page) => {
          const wrong: string[] = [];
          const seen = await page.evaluate(() => ({
            input: (document.querySelector("#display_name") as HTMLInputElement | null)?.value ?? null,
            header: document.querySelector(".site-header .me")?.textContent ?? null,
            email: document.querySelector(".profile strong")?.textContent ?? null,
          }));
          const name = member.name.text.trim();
          if (seen.input !== name) wrong.push(`name input reads ${JSON.stringify(seen.input)}, not ${JSON.stringify(name)} (payload #${member.name.id})`);
          if (seen.header !== name) wrong.push(`header name reads ${JSON.stringify(seen.header)}, not ${JSON.stringify(name)} (payload #${member.name.id})`);
          if (i < EMAILS.length && seen.email !== member.email)
            wrong.push(`e-mail reads ${JSON.stringify(seen.email)}, not ${JSON.stringify(member.email)} (payload #${EMAILS[i].id})`);
          return wrong;
        },
      },
      ...(i % 6 === 0
        ? [
            {
              url: `/events/${eventIds[i]}`,
              route: "/events/{id}",
              who: `member ${i}`,
              context: member.context,
              fields: eventFields(i, true),
            },
          ]
        : []),
    ]),
    // Reflected, not stored: query parameters a link could carry; each payload in one of
    // the three (in turn), to keep the run short.
    ...GENERAL.flatMap((payload, i): Visit[] => [
      {
        url: `/track/${metricKeys[0]}?search=${encodeURIComponent(payload.text)}`,
        route: "/track/{metric}?search=",
        who: "organizer",
        context: admin,
        fields: [f("?search= (reflected)", payload), ...metricFields(0)],
      },
      {
        url: `/track/import?error=${encodeURIComponent(payload.text)}`,
        route: "/track/import?error=",
        who: "organizer",
        context: admin,
        fields: [f("?error= (reflected)", payload)],
      },
      {
        url: `/login?next=${encodeURIComponent(payload.text)}`,
        route: "/login?next=",
        who: "anonymous",
        context: anonymous,
        fields: [f("?next= (reflected)", payload)],
      },
    ].filter((_, which) => which === i % 3)),
  ];
  await checker.visitAll(visits);
  phase(`other pages (${visits.length})`);

  // ---- The display name changed with the profile form, last (it renames member 1).
  const renamePage = await members[1].context.newPage();
  equip(renamePage);
  const newName = P(22);
  await checker.visit(
    renamePage,
    { url: "/me", route: "UI: change the name on /me", who: "member 1", context: members[1].context, fields: [f("display name", members[1].name), f("display name", newName)] },
    async (page) => {
      await page.locator("#display_name").fill(newName.text);
      await page.getByRole("button", { name: "Save", exact: true }).click();
      await expect(page.getByText("Saved.")).toBeVisible();
      await page.waitForTimeout(200);
    },
  );
  await checker.visit(renamePage, {
    url: `/groups/${home}`,
    route: "/groups/{slug}",
    who: "member 1",
    context: members[1].context,
    fields: [f("display name", newName), ...everyEventField, ...allMemberNames, f("group name", P(0))],
  });
  await renamePage.close();
  phase("profile form");

  // ---- The report.
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const byRoute = new Map<string, string[]>();
  for (const finding of checker.findings) {
    const line = checker.describe(finding);
    if (!byRoute.has(finding.route)) byRoute.set(finding.route, []);
    if (!byRoute.get(finding.route)!.includes(line)) byRoute.get(finding.route)!.push(line);
  }
  const report = {
    payloads: ALL_PAYLOADS.length,
    pageLoads: checker.loads,
    seconds: Number(seconds),
    phases,
    unitRefusals,
    cancelledMails,
    missingOrWeakCsp: Object.fromEntries(checker.badCsp),
    findings: Object.fromEntries(byRoute),
  };
  writeFileSync(testInfo.outputPath("xss-report.json"), JSON.stringify(report, null, 2));
  if (checker.findings.length || checker.badCsp.size) writeFileSync(testInfo.outputPath("cohort-server.log"), serverLog());
  console.log(
    `xss: ${ALL_PAYLOADS.length} payloads, ${checker.loads} page loads in ${seconds} s (${phases.join("; ")}); ` +
      `${checker.findings.length} findings on ${byRoute.size} routes; CSP missing or weak on ${checker.badCsp.size} routes`,
  );

  expect.soft(cancelledMails, "cancellation e-mails in the outbox when it was checked").toBeGreaterThanOrEqual(2 * N - 1);
  expect.soft(
    [...checker.badCsp.entries()].map(([route, problem]) => `${route}: ${problem}`),
    "every page answers with a strict Content-Security-Policy (script-src with a nonce)",
  ).toEqual([]);
  for (const [route, lines] of byRoute) {
    expect.soft(lines, `${route}: ${lines.length} problem(s) with stored or reflected payloads`).toEqual([]);
  }
  for (const context of [admin, anonymous, ...members.map((m) => m.context)]) await context.close();
}
