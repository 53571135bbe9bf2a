import { expect, test, type Page } from "@playwright/test";
import path from "node:path";
import { adminWithBusiness, publishTxt, uniqueEmail, waitForHydration } from "../support/helpers";

const step = (page: Page, n: number) => page.getByTestId(`step-${n}`);

/** Done cards are folded: unfold one to look inside. */
async function openStep(page: Page, n: number) {
  if ((await step(page, n).getAttribute("open")) === null) await step(page, n).locator("summary.step-summary").click();
}

/** Submits a configurator form and waits for the page the server renders after it. */
async function submitAndReload(page: Page, button: string, within = page.locator("body")) {
  await waitForHydration(page);
  await Promise.all([page.waitForEvent("load"), within.getByRole("button", { name: button }).click()]);
  await waitForHydration(page);
}

test("an admin walks the seven steps, activates, is refused a breaking change, deactivates", async ({ page }, testInfo) => {
  const run = `${Date.now()}${Math.floor(Math.random() * 1000)}`;
  const domain = `acme-${run}.com`;
  const admin = `admin@${domain}`;
  await adminWithBusiness(page, admin, "Acme Corp");

  await page.getByRole("link", { name: "IdP Integration" }).click();
  await submitAndReload(page, "Start Configuring");
  await expect(page.getByTestId("progress")).toHaveText("0 of 7 steps done");
  for (let n = 1; n <= 7; n++) await expect(step(page, n)).toHaveClass(/step-todo/);
  await expect(page.getByRole("button", { name: "Activate Integration" })).toBeDisabled();

  // 1. the domain, verified through DNS
  await page.getByLabel("Add a domain").fill(domain.toUpperCase());
  await submitAndReload(page, "Add Domain");
  const card = page.getByTestId(`domain-${domain}`);
  await expect(card).toContainText("Pending verification");
  const recordName = (await card.locator("dl.record code").nth(0).textContent())!.trim();
  const recordValue = (await card.locator("dl.record code").nth(1).textContent())!.trim();
  expect(recordName).toBe(`_seatgate-verification.${domain}`);
  await submitAndReload(page, `Verify ${domain}`);
  await expect(card.getByTestId("last-check")).toContainText("No TXT record found");
  await publishTxt(recordName, ["v=spf1 -all", recordValue]);
  await submitAndReload(page, `Verify ${domain}`);
  await expect(card).toContainText("Verified");
  await expect(step(page, 1)).toHaveClass(/step-done/);

  // 2. enterprise app registered: instructions per IdP are tabs (Entra first)
  const entra = step(page, 2).getByLabel("Microsoft Entra ID instructions");
  const okta = step(page, 2).getByLabel("Okta instructions");
  await expect(entra).toBeVisible();
  await expect(okta).toBeHidden();
  await step(page, 2).getByText("Okta", { exact: true }).click();
  await expect(okta).toBeVisible();
  await expect(entra).toBeHidden();
  await step(page, 2).getByLabel("Configuration in the IdP Directory is done").check();
  await submitAndReload(page, "Save", step(page, 2));
  await expect(step(page, 2)).toHaveClass(/step-done/);

  // 3. group mapping
  await page.getByLabel("Admins group name").fill("SG-Admins");
  await page.getByLabel("Admins group ID").fill("0f9c2c7e-admins");
  await page.getByLabel("Desktop users group name").fill("SG-Desktop");
  await page.getByLabel("Desktop users group ID").fill("7a1e55b1-desktop");
  await submitAndReload(page, "Save Groups");
  await expect(step(page, 3)).toHaveClass(/step-done/);

  // 4. SAML: upload the IdP's metadata file
  await expect(step(page, 4).getByTestId("Assertion Consumer Service URL")).toContainText("/acs");
  await page.getByLabel("IdP metadata file").setInputFiles(path.resolve(__dirname, "../../tests/fixtures/saml/okta/metadata.xml"));
  await expect(page.getByLabel("IdP metadata XML")).toHaveValue(/EntityDescriptor/);
  await submitAndReload(page, "Import Metadata");
  await expect(step(page, 4)).toHaveClass(/step-done/);
  await openStep(page, 4);
  await expect(page.getByLabel("IdP entity ID")).toHaveValue("http://www.okta.com/exkdoocxa1VmjpXmX697");
  await expect(page.getByRole("list", { name: "IdP signing certificates" })).toContainText("SHA-256");

  // 5. SCIM: a bearer token shown once, then the IdP configuration confirmed
  await waitForHydration(page);
  await page.getByRole("button", { name: "Generate Token" }).click();
  await expect(page.getByTestId("scim-token")).toHaveText(/^sgscim_/);
  await step(page, 5).getByLabel("Configuration in the IdP Directory is done").check();
  await submitAndReload(page, "Save SCIM Settings");
  await expect(step(page, 5)).toHaveClass(/step-done/);
  await expect(page.getByTestId("scim-token")).toHaveCount(0);

  // 6. users added, 7. backup login (defaults to the signed-in admin)
  await step(page, 6).getByLabel("Users are added to the groups").check();
  await submitAndReload(page, "Save", step(page, 6));
  await expect(page.getByLabel("Backup login")).toHaveValue(admin);
  await submitAndReload(page, "Save Backup Login");
  await expect(page.getByTestId("progress")).toHaveText("7 of 7 steps done");

  // activate; a change that would grey a card is refused; deactivate
  await submitAndReload(page, "Activate Integration");
  await expect(page.getByText("Integration active")).toBeVisible();
  await waitForHydration(page);
  await openStep(page, 2);
  await step(page, 2).getByLabel("Configuration in the IdP Directory is done").uncheck();
  await step(page, 2).getByRole("button", { name: "Save" }).click();
  await expect(step(page, 2).getByRole("alert").filter({ hasText: "Deactivate the integration first" })).toBeVisible();
  await page.screenshot({ path: testInfo.outputPath("configurator-active.png"), fullPage: true });
  await submitAndReload(page, "Deactivate");
  await expect(page.getByText("Integration not active")).toBeVisible();
  await expect(page.getByRole("list", { name: "Configuration changes" })).toContainText("Deactivated the integration");
  await page.screenshot({ path: testInfo.outputPath("configurator-finished.png"), fullPage: true });
});
