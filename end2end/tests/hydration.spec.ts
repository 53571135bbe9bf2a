import { expect, test } from "@playwright/test";
import { waitForHydration } from "../support/helpers";

test("the sign-up page reacts in the browser without a reload", async ({ page }) => {
  await page.goto("/signup");
  await waitForHydration(page);
  // a marker that a full page load would wipe out
  await page.evaluate(() => ((window as any).__no_reload = true));

  const password = page.getByLabel("Password", { exact: true });
  await expect(password).toHaveAttribute("type", "password");
  await password.fill("abc");
  await expect(page.getByTestId("password-hint")).toHaveText("3 of at least 10 characters");
  await page.getByRole("button", { name: "Show password" }).click();
  await expect(password).toHaveAttribute("type", "text");
  await expect(page.getByRole("button", { name: "Hide password" })).toBeVisible();
  await password.fill("a long enough one");
  await expect(page.getByTestId("password-hint")).toHaveText("17 characters \u2714");

  expect(await page.evaluate(() => (window as any).__no_reload)).toBe(true);
});

test("server-side validation messages appear next to their fields without a reload", async ({ page }) => {
  await page.goto("/signup");
  await waitForHydration(page);
  await page.evaluate(() => ((window as any).__no_reload = true));
  await page.getByLabel("Email").fill("someone@example.com");
  await page.getByLabel("Password", { exact: true }).fill("short");
  await page.getByLabel("Confirm password").fill("short");
  await page.getByRole("button", { name: "Sign Up" }).click();
  await expect(page.locator("#field-password-error")).toContainText("Use at least 10 characters");
  await expect(page).toHaveURL(/\/signup$/);
  expect(await page.evaluate(() => (window as any).__no_reload)).toBe(true);
});
