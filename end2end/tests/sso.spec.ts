import { expect, test, type Browser, type Page } from "@playwright/test";
import { activeIntegration, adminWithBusiness, waitForHydration } from "../support/helpers";

const PASSWORD = "portal password 123";
/** Continue with SSO in a fresh browser, signing in at the test IdP with `groups`. */
async function ssoSignIn(browser: Browser, email: string, groups: string) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto("/signin");
  await page.getByLabel("Work email").fill(email);
  await page.getByRole("button", { name: "Continue with SSO" }).click();
  await expect(page.getByRole("heading", { name: "Test IdP sign-in" })).toBeVisible();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Groups").fill(groups);
  await page.getByRole("button", { name: "Sign in at the IdP" }).click();
  return page;
}

test("Continue with SSO signs admins and desktop users in with their rights; passwords give way to SSO", async ({ page, browser }, testInfo) => {
  const run = `${Date.now()}${Math.floor(Math.random() * 1000)}`;
  const domain = `initech-${run}.com`;
  const admin = `admin@${domain}`;
  await adminWithBusiness(page, admin, "Initech");
  await activeIntegration(page, domain);

  // a member of the admins group: back on the dashboard as business admin
  const alice = await ssoSignIn(browser, `alice@${domain}`, "g-admins, g-desktop");
  await expect(alice).toHaveURL(/\/dashboard$/);
  await alice.goto("/profile/business/idp_integration");
  await expect(alice.getByText("Integration active")).toBeVisible();
  await alice.screenshot({ path: testInfo.outputPath("sso-admin.png"), fullPage: true });

  // a member of the desktop users group only: signed in, no admin rights
  const bob = await ssoSignIn(browser, `bob@${domain}`, "SG-Desktop");
  await expect(bob).toHaveURL(/\/dashboard$/);
  const res = await bob.goto("/profile/business/idp_integration");
  expect(res!.status()).toBe(403);

  // password sign-in: refused for a domain user, allowed for the backup login
  const other = await (await browser.newContext()).newPage();
  await other.goto("/signin");
  await waitForHydration(other);
  await other.getByLabel("Email", { exact: true }).fill(`alice@${domain}`);
  await other.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await other.getByRole("button", { name: "Sign In", exact: true }).click();
  await expect(other.getByRole("alert").filter({ hasText: "use Continue with SSO" })).toBeVisible();
  await other.getByLabel("Email", { exact: true }).fill(admin);
  await other.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await other.getByRole("button", { name: "Sign In", exact: true }).click();
  await expect(other).toHaveURL(/\/dashboard$/);

  // the admin sees the attempts
  await page.reload();
  await expect(page.getByRole("table", { name: "SSO attempts" })).toContainText(`bob@${domain}`);
  await page.screenshot({ path: testInfo.outputPath("sso-attempts.png"), fullPage: true });
});
