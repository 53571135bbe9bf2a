import { expect, request, test, type Browser } from "@playwright/test";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { activeIntegration, adminWithBusiness } from "../support/helpers";

type Run = { code: number | null; stdout: string; stderr: string };

/** Starts the desktop client; resolves `loginUrl` once it prints the sign-in address. */
function client(bin: string, args: string[]) {
  const child = spawn(bin, args, { env: { ...process.env, RUST_LOG: "" } });
  let stdout = "";
  let stderr = "";
  let resolveUrl: (u: string) => void;
  const loginUrl = new Promise<string>((r) => (resolveUrl = r));
  child.stdout.on("data", (d) => {
    stdout += d.toString();
    const m = stdout.match(/^LOGIN_URL (\S+)$/m);
    if (m) resolveUrl(m[1]);
  });
  child.stderr.on("data", (d) => (stderr += d.toString()));
  const done = new Promise<Run>((r) => child.on("close", (code) => r({ code, stdout, stderr })));
  return { loginUrl, done };
}

/** Signs in at the test IdP in a fresh browser page, from the client's login URL. */
async function idpSignIn(browser: Browser, loginUrl: string, email: string, groups: string) {
  const page = await (await browser.newContext()).newPage();
  await page.goto(loginUrl);
  await expect(page.getByRole("heading", { name: "Test IdP sign-in" })).toBeVisible();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Groups").fill(groups);
  await page.getByRole("button", { name: "Sign in at the IdP" }).click();
  return page;
}

test("employees download the app from the link, activate it with SSO, and lose it when deprovisioned", async ({ page, browser, baseURL }, testInfo) => {
  const run = `${Date.now()}${Math.floor(Math.random() * 1000)}`;
  const domain = `hooli-${run}.com`;
  await adminWithBusiness(page, `admin@${domain}`, "Hooli");
  const token = (await activeIntegration(page, domain, true))!;

  // the IdP provisions two people; only Carla is in the desktop users group
  const idp = await request.newContext({
    baseURL,
    extraHTTPHeaders: { Authorization: `Bearer ${token}`, "Content-Type": "application/scim+json" },
  });
  const ids: Record<string, string> = {};
  for (const who of ["carla", "dave"]) {
    const res = await idp.post("/scim/v2/Users", { data: { userName: `${who}@${domain}`, active: true } });
    expect(res.status()).toBe(201);
    ids[who] = (await res.json()).id;
  }
  const res = await idp.post("/scim/v2/Groups", {
    data: { displayName: "SG-Desktop", externalId: "g-desktop", members: [{ value: ids.carla }] },
  });
  expect(res.status()).toBe(201);

  // a signed-out employee follows the download link: Sign In with SSO first, then the builds
  const employee = await (await browser.newContext()).newPage();
  await employee.goto("/directdownload/pd?experience=sso");
  await expect(employee).toHaveURL(/\/signin\?next=/);
  await employee.getByLabel("Work email").fill(`carla@${domain}`);
  await employee.getByRole("button", { name: "Continue with SSO" }).click();
  await employee.getByLabel("Email").fill(`carla@${domain}`);
  await employee.getByRole("button", { name: "Sign in at the IdP" }).click();
  await expect(employee).toHaveURL(/\/directdownload\/pd\?experience=sso$/);
  await expect(employee.getByTestId("manual-activation")).toContainText("activate --email");
  const [download] = await Promise.all([
    employee.waitForEvent("download"),
    employee.getByTestId("download-build").first().click(),
  ]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "seatgate-desktop-"));
  const bin = path.join(dir, "seatgate-desktop");
  await download.saveAs(bin);
  fs.chmodSync(bin, 0o755);
  await employee.screenshot({ path: testInfo.outputPath("download.png"), fullPage: true });

  // the downloaded copy knows its server: no --server needed
  const carlaHome = path.join(dir, "carla");
  const carla = client(bin, ["--store", carlaHome, "activate", "--email", `carla@${domain}`, "--no-browser"]);
  const back = await idpSignIn(browser, await carla.loginUrl, `carla@${domain}`, "");
  await expect(back.getByTestId("activation-result")).toHaveText("Activation complete");
  const granted = await carla.done;
  expect(granted.code, granted.stderr).toBe(0);
  expect(granted.stdout).toContain(`LICENSED desktop for carla@${domain} (Hooli)`);

  // Dave is provisioned but not in the group: refused, even though the IdP's groups claim says otherwise
  const dave = client(bin, ["--store", path.join(dir, "dave"), "activate", "--email", `dave@${domain}`, "--no-browser"]);
  const refusedPage = await idpSignIn(browser, await dave.loginUrl, `dave@${domain}`, "g-desktop");
  await expect(refusedPage.getByTestId("activation-result")).toHaveText("Activation failed");
  const refused = await dave.done;
  expect(refused.code).toBe(2);
  expect(refused.stderr).toContain("ERROR not_in_desktop_group");
  expect(refused.stderr).toContain("not in your organisation's group of desktop users");

  // the admin sees the seat holder and the device
  await page.goto("/profile/business/licenses");
  const holders = page.getByRole("table", { name: "Seat holders" });
  await expect(holders).toContainText(`carla@${domain}`);
  await expect(page.getByRole("table", { name: "Subscriptions" })).toContainText("1 / 10");

  // a check renews the licence; after deprovisioning it reports the activation revoked
  const checked = await client(bin, ["--store", carlaHome, "check"]).done;
  expect(checked.code, checked.stderr).toBe(0);
  expect(checked.stdout).toContain("VALID desktop");
  const off = await idp.patch(`/scim/v2/Users/${ids.carla}`, {
    data: { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", path: "active", value: false }] },
  });
  expect(off.status()).toBe(200);
  const revoked = await client(bin, ["--store", carlaHome, "check"]).done;
  expect(revoked.code).toBe(2);
  expect(revoked.stdout).toContain("REVOKED activation_revoked deprovisioned");
  await page.reload();
  await expect(page.getByRole("table", { name: "Subscriptions" })).toContainText("0 / 10");
  await expect(page.getByRole("table", { name: "Ended activations" })).toContainText(`carla@${domain}`);
  await page.screenshot({ path: testInfo.outputPath("licenses.png"), fullPage: true });
});
