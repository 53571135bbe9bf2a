import { expect, type Page } from "@playwright/test";
import { execFileSync } from "node:child_process";
import path from "node:path";

const MAIL_API = `http://127.0.0.1:${process.env.MAILSINK_HTTP_PORT ?? 2580}`;

/** The last link to `pathname` in mail received for `to`, as a path + query. */
export async function linkFromMail(to: string, pathname: string): Promise<string> {
  let found: string | undefined;
  await expect(async () => {
    const res = await fetch(`${MAIL_API}/messages?to=${encodeURIComponent(to)}`);
    const messages: { raw: string }[] = await res.json();
    for (const m of messages.reverse()) {
      for (const word of m.raw.split(/\s+/)) {
        if (!word.startsWith("http")) continue;
        const u = new URL(word);
        if (u.pathname === pathname) {
          found = u.pathname + u.search;
          return;
        }
      }
    }
    throw new Error(`no mail to ${to} with a ${pathname} link yet`);
  }).toPass({ timeout: 10_000 });
  return found!;
}

/** Issues a license key with the vendor CLI against the test server's database. */
export function issueKey(seats: number): string {
  const bin = path.resolve(__dirname, "../../target/release/seatgate");
  const out = execFileSync(bin, ["license", "issue", "--seats", String(seats), "--product", "desktop"], {
    env: { ...process.env, DATABASE_URL: `sqlite://${process.env.SEATGATE_E2E_DATA}/seatgate.db` },
  });
  return out.toString().trim();
}

/** A unique address per run, so reruns against a kept database never collide. */
export function uniqueEmail(name: string, domain = "acme.example"): string {
  return `${name}.${Date.now()}.${Math.floor(Math.random() * 1e6)}@${domain}`;
}

/** Waits until the page is hydrated (the WebAssembly has taken over the DOM). */
export async function waitForHydration(page: Page) {
  await page.locator("html[data-hydrated=true]").waitFor({ state: "attached", timeout: 15_000 });
}

const DNS_API = `http://127.0.0.1:${process.env.TESTDNS_HTTP_PORT ?? 2581}`;

/** Publishes TXT records at `name` on the test DNS server. */
export async function publishTxt(name: string, values: string[]) {
  const res = await fetch(`${DNS_API}/txt`, { method: "POST", body: JSON.stringify({ name, values }) });
  if (!res.ok) throw new Error(`test DNS server refused: ${res.status}`);
}

const PASSWORD = "portal password 123";

/** Signs up `email`, verifies it through the mailed link, registers a new key for `org`. */
export async function adminWithBusiness(page: Page, email: string, org: string) {
  await page.goto("/signup");
  await waitForHydration(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByLabel("Confirm password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign Up" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await page.goto(await linkFromMail(email, "/verify-email"));
  await page.goto("/register-key");
  await waitForHydration(page);
  await page.getByLabel("License key").fill(issueKey(10));
  await page.getByLabel("Organisation name").fill(org);
  await page.getByRole("button", { name: "Register Key" }).click();
  await expect(page).toHaveURL(/\/profile\/business\/licenses/);
}

const IDP = `http://127.0.0.1:${process.env.TEST_IDP_PORT ?? 5380}`;
const step = (page: Page, n: number) => page.getByTestId(`step-${n}`);

export async function submitAndReload(page: Page, button: string, within = page.locator("body")) {
  await waitForHydration(page);
  await Promise.all([page.waitForEvent("load"), within.getByRole("button", { name: button }).click()]);
  await waitForHydration(page);
}

/** All seven steps with the test IdP, then Activate. With `scim`, SCIM support stays on and
 * the bearer token is returned. */
export async function activeIntegration(page: Page, domain: string, scim = false): Promise<string | undefined> {
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
  let token: string | undefined;
  if (scim) {
    await page.getByRole("button", { name: "Generate Token" }).click();
    token = (await page.getByTestId("scim-token").textContent())!.trim();
    await step(page, 5).getByLabel("Configuration in the IdP Directory is done").check();
  } else {
    // switching SCIM off makes step 5 green without a token
    await step(page, 5).getByLabel("SCIM support").uncheck();
  }
  await submitAndReload(page, "Save SCIM Settings");
  await step(page, 6).getByLabel("Users are added to the groups").check();
  await submitAndReload(page, "Save", step(page, 6));
  await submitAndReload(page, "Save Backup Login");
  await expect(page.getByTestId("progress")).toHaveText("7 of 7 steps done");
  await submitAndReload(page, "Activate Integration");
  await expect(page.getByText("Integration active")).toBeVisible();
  return token;
}

