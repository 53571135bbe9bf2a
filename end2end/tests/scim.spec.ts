import { expect, request, test, type Page } from "@playwright/test";
import { adminWithBusiness, publishTxt, waitForHydration } from "../support/helpers";

/** Submits a configurator form and waits for the page the server renders after it. */
async function submitAndReload(page: Page, button: string) {
  await waitForHydration(page);
  await Promise.all([page.waitForEvent("load"), page.getByRole("button", { name: button }).click()]);
  await waitForHydration(page);
}

test("an IdP provisions users and groups over real HTTP and the admin sees it", async ({ page, baseURL }) => {
  const run = `${Date.now()}${Math.floor(Math.random() * 1000)}`;
  const domain = `globex-${run}.com`;
  await adminWithBusiness(page, `admin@${domain}`, "Globex");

  // the configurator gives a verified domain and a bearer token
  await page.getByRole("link", { name: "IdP Integration" }).click();
  await submitAndReload(page, "Start Configuring");
  await page.getByLabel("Add a domain").fill(domain);
  await submitAndReload(page, "Add Domain");
  const card = page.getByTestId(`domain-${domain}`);
  const recordName = (await card.locator("dl.record code").nth(0).textContent())!.trim();
  const recordValue = (await card.locator("dl.record code").nth(1).textContent())!.trim();
  await publishTxt(recordName, [recordValue]);
  await submitAndReload(page, `Verify ${domain}`);
  await expect(card).toContainText("Verified");
  await page.getByRole("button", { name: "Generate Token" }).click();
  const token = (await page.getByTestId("scim-token").textContent())!.trim();
  expect(token).toMatch(/^sgscim_/);

  const idp = await request.newContext({
    baseURL,
    extraHTTPHeaders: { Authorization: `Bearer ${token}`, "Content-Type": "application/scim+json" },
  });
  const users = `${baseURL}/scim/v2/Users`;

  // Okta's connection test, then a create
  let res = await idp.get(`/scim/v2/Users?filter=${encodeURIComponent(`userName eq "alice@${domain}"`)}&startIndex=1&count=100`);
  expect(res.status()).toBe(200);
  expect(res.headers()["content-type"]).toBe("application/scim+json");
  expect(await res.json()).toMatchObject({ totalResults: 0, startIndex: 1, itemsPerPage: 0 });

  res = await idp.post("/scim/v2/Users", {
    data: {
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
      userName: `alice@${domain}`,
      name: { givenName: "Alice", familyName: "Nguyen" },
      emails: [{ value: `alice@${domain}`, type: "work", primary: true }],
      active: true,
    },
  });
  expect(res.status()).toBe(201);
  const alice = await res.json();
  expect(res.headers()["location"]).toBe(`${users}/${alice.id}`);
  expect(alice.meta.resourceType).toBe("User");

  // a user outside the verified domains is refused in RFC 7644 form
  res = await idp.post("/scim/v2/Users", { data: { userName: "mallory@elsewhere.example" } });
  expect(res.status()).toBe(400);
  expect(await res.json()).toMatchObject({
    schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"],
    status: "400",
    scimType: "invalidValue",
  });

  // a group with Alice, found by Entra's membership check
  res = await idp.post("/scim/v2/Groups", { data: { displayName: "Desktop Users", members: [{ value: alice.id }] } });
  expect(res.status()).toBe(201);
  const group = await res.json();
  res = await idp.get(`/scim/v2/Groups?filter=${encodeURIComponent(`id eq "${group.id}" and members eq "${alice.id}"`)}&attributes=id`);
  expect((await res.json()).totalResults).toBe(1);

  // Entra deprovisions with a string boolean
  res = await idp.patch(`/scim/v2/Users/${alice.id}`, {
    data: {
      schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      Operations: [{ op: "Replace", path: "active", value: "False" }],
    },
  });
  expect(res.status()).toBe(200);
  expect((await res.json()).active).toBe(false);

  // without the token there is nothing to see
  const anonymous = await request.newContext({ baseURL });
  res = await anonymous.get("/scim/v2/Users");
  expect(res.status()).toBe(401);
  expect((await res.json()).status).toBe("401");

  // the admin sees what was provisioned and the request log
  await page.reload();
  await expect(page.getByTestId("scim-counts")).toHaveText("Provisioned: 1 users (0 active), 1 groups.");
  await page.getByText(/SCIM requests \(latest/).click();
  const log = page.getByRole("table", { name: "SCIM requests" });
  await expect(log).toContainText("POST /scim/v2/Users");
  await expect(log).toContainText("mallory@elsewhere.example");
  await idp.dispose();
  await anonymous.dispose();
});
