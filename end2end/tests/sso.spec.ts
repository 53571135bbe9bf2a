import { expect, test, type Browser, type Page } from "@playwright/test";
import { adminWithBusiness, publishTxt, waitForHydration } from "../support/helpers";

const IDP = `http://127.0.0.1:${process.env.TEST_IDP_PORT ?? 5380}`;
const PASSWORD = "portal password 123";
const step = (page: Page, n: number) => page.getByTestId(`step-${n}`);

async function submitAndReload(page: Page, button: string, within = page.locator("body")) {
  await waitForHydration(page);
  await Promise.all([page.waitForEvent("load"), within.getByRole("button", { name: button }).click()]);
  await waitForHydration(page);
}

/** All seven steps with the test IdP, then Activate. */
async function activeIntegration(page: Page, domain: string) {
  await page.getByRole("link", { name: "IdP Integration" }).click();
  await submitAndReload(page, "Start Configuring");
  await page.getByLabel("Add a domain").fill(domain);
  await submitAndReload(page, "Add Domain");
  const card = page.getByTestId(`domain-${domain}`);
  const name = (await card.locator("dl.record code").nth(0).textContent())!.trim();
  const value = (await card.locator("dl.record code").nth(1).textContent())!.trim();
  await publishTxt(name, [value]);
  await submitAndReload(page, `Verify ${domain}`);
  await step(page, 2).getByLabel("Configuration in the IdP Directory is done").check();
  await submitAndReload(page, "Save", step(page, 2));
  await page.getByLabel("Admins group name").fill("SG-Admins");
  await page.getByLabel("Admins group ID").fill("g-admins");
  await page.getByLabel("Desktop users group name").fill("SG-Desktop");
  await page.getByLabel("Desktop users group ID").fill("g-desktop");
  await submitAndReload(page, "Save Groups");
  await page.getByLabel("IdP entity ID").fill("https://idp.example.test/metadata");
  await page.getByLabel("IdP SSO URL").fill(`${IDP}/sso`);
  await submitAndReload(page, "Save SAML Settings");
  const cert = await (await fetch(`${IDP}/cert`)).text();
  await page.getByLabel("Add a signing certificate (PEM or base64)").fill(cert);
  await submitAndReload(page, "Add Certificate");
  await expect(step(page, 4)).toHaveClass(/step-done/);
  // no SCIM in this test: switching it off makes step 5 green
  await step(page, 5).getByLabel("SCIM support").uncheck();
  await submitAndReload(page, "Save SCIM Settings");
  await step(page, 6).getByLabel("Users are added to the groups").check();
  await submitAndReload(page, "Save", step(page, 6));
  await submitAndReload(page, "Save Backup Login");
  await expect(page.getByTestId("progress")).toHaveText("7 of 7 steps done");
  await submitAndReload(page, "Activate Integration");
  await expect(page.getByText("Integration active")).toBeVisible();
}

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
