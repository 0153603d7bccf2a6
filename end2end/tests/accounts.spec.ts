import { test, expect, type Page } from "@playwright/test";

const password = "a long and private passphrase";

// The sign-up form takes the member's time zone from the browser.
test.use({ timezoneId: "America/Los_Angeles" });

function uniqueEmail(prefix: string) {
  return `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.org`;
}

async function hydrated(page: Page) {
  // The header's account links are rendered by a resource; wait for the app to be live.
  await page.waitForFunction(() => document.querySelector(".home, .auth-card, .profile, .group-intro, h1") !== null);
}

test("sign up, join the group, log out and log back in", async ({ page }) => {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  const email = uniqueEmail("member");

  await page.goto("/signup");
  await hydrated(page);
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Name other members see").fill("Pat Tracker");
  await page.getByLabel("Password").fill("short");
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page.locator("#password-error")).toContainText("at least 10 characters");

  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole("link", { name: "Pat Tracker" })).toBeVisible();
  await page.getByRole("link", { name: "Pat Tracker" }).click();
  await expect(page.getByLabel("Time zone")).toHaveValue("America/Los_Angeles");

  await page.goto("/groups/qs-north-bay");
  await page.getByRole("button", { name: "Join this group" }).click();
  await expect(page.getByText("You are a member")).toBeVisible();
  await expect(page.getByRole("heading", { name: "Members" })).toBeVisible();
  await expect(page.locator(".members")).toContainText("Pat Tracker");

  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page.getByRole("link", { name: "Log in" })).toBeVisible();
  await page.goto("/groups/qs-north-bay");
  await expect(page.getByRole("heading", { name: "Members" })).toHaveCount(0);

  await page.goto("/login");
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("alert")).toContainText("do not match");
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("link", { name: "Pat Tracker" })).toBeVisible();
  expect(errors).toEqual([]);
});

test("a protected page sends an anonymous visitor to log in and back", async ({ page, baseURL }) => {
  const email = uniqueEmail("return");
  // Make the account first, in a separate session.
  const signup = await page.request.post("/api/signup", {
    headers: { Origin: new URL(baseURL!).origin, Accept: "application/json" },
    form: { email, display_name: "Returning", password },
  });
  expect(signup.status()).toBe(200);
  await page.context().clearCookies();

  await page.goto("/me");
  await expect(page).toHaveURL(/\/login\?next=%2Fme$/);
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/me$/);
  await expect(page.getByRole("heading", { name: "Your profile" })).toBeVisible();
  await expect(page.getByText(email)).toBeVisible();
});
