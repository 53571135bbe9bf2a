import { expect, test, type Page } from "@playwright/test";
import { issueKey, linkFromMail, uniqueEmail, waitForHydration } from "../support/helpers";

const PASSWORD = "portal password 123";

async function signUp(page: Page, email: string) {
  await page.goto("/signup");
  await waitForHydration(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByLabel("Confirm password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign Up" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
}

test("an admin signs up, registers a key, invites a colleague who joins the business account", async ({ page }) => {
  const admin = uniqueEmail("admin");
  const colleague = uniqueEmail("bob");

  // sign up: warned not to reuse the IdP password, then asked to verify the address
  await page.goto("/signup");
  await expect(page.getByText("Do not reuse your corporate (identity provider) password")).toBeVisible();
  await signUp(page, admin);
  await expect(page.getByTestId("verify-banner")).toBeVisible();

  // verify the email by the link that arrived over SMTP
  await page.goto(await linkFromMail(admin, "/verify-email"));
  await expect(page.getByText(`Thank you: ${admin} is verified.`)).toBeVisible();

  // register a key for a new organisation
  const key = issueKey(20);
  await page.getByRole("link", { name: "Register Key" }).click();
  await expect(page.getByRole("heading", { name: "Register Key" })).toBeVisible();
  await waitForHydration(page);
  await expect(page.getByRole("link", { name: "IdP Integration" })).toHaveCount(0);
  await page.getByLabel("License key").fill(key.toLowerCase());
  await page.getByLabel("Subscription name (optional)").fill("Design team");
  await page.getByLabel("Organisation name").fill("Acme Corp");
  await page.getByLabel("Country").fill("Norway");
  await page.getByRole("button", { name: "Register Key" }).click();

  // the business account and the IdP Integration menu appear
  await expect(page).toHaveURL(/\/profile\/business\/licenses/);
  await expect(page.getByText("Your business account is ready")).toBeVisible();
  const row = page.getByRole("row", { name: /Design team/ });
  await expect(row).toContainText("0 / 20");
  await expect(page.getByRole("link", { name: "IdP Integration" })).toBeVisible();
  await page.getByRole("link", { name: "IdP Integration" }).click();
  await expect(page.getByText("Connect the identity provider of Acme Corp")).toBeVisible();

  // invite a colleague
  await page.getByRole("link", { name: "Users" }).click();
  await waitForHydration(page);
  await page.getByLabel("Email of the person to invite").fill(colleague);
  await page.getByLabel("Role").selectOption("user");
  await page.getByRole("button", { name: "Invite User" }).click();
  await expect(page.getByText("Invitation sent.")).toBeVisible();
  await expect(page.getByRole("table", { name: "Pending invitations" })).toContainText(colleague);
  await page.getByRole("button", { name: "Sign Out" }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole("navigation").getByRole("link", { name: "Sign In" })).toBeVisible();

  // the colleague signs up, follows the invitation link and sees the account
  await signUp(page, colleague);
  await page.goto(await linkFromMail(colleague, "/invitations/accept"));
  await expect(page.getByText("You are invited to join the business account Acme Corp as User.")).toBeVisible();
  await waitForHydration(page);
  await page.getByRole("button", { name: "Accept Invitation" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByTestId("business-workspace")).toContainText("Business account: Acme Corp");
  await expect(page.getByText("Your role: User")).toBeVisible();
  // a plain user gets no IdP Integration menu item, and the page refuses them
  await expect(page.getByRole("link", { name: "IdP Integration" })).toHaveCount(0);
  await page.goto("/profile/business/idp_integration");
  await expect(page.getByText("Only an admin of this business account can do this.")).toBeVisible();
  await page.getByRole("link", { name: "Users" }).click();
  await expect(page.getByRole("table", { name: "Members" })).toContainText(admin);
});

test("wrong passwords get a clear message and the key form names typos", async ({ page }) => {
  const email = uniqueEmail("carol", "globex.example");
  await signUp(page, email);
  await page.getByRole("button", { name: "Sign Out" }).click();
  // the sign-out redirect lands on the home page; navigate only after it did
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole("navigation").getByRole("link", { name: "Sign In" })).toBeVisible();
  await page.goto("/signin");
  await waitForHydration(page);
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Password").fill("not my password");
  await page.getByRole("button", { name: "Sign In" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "The email or the password is not correct." })).toBeVisible();
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign In" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);

  await page.goto(await linkFromMail(email, "/verify-email"));
  await page.goto("/register-key");
  await waitForHydration(page);
  const key = issueKey(3);
  const typo = (key[0] === "A" ? "B" : "A") + key.slice(1);
  await page.getByLabel("License key").fill(typo);
  await page.getByLabel("Organisation name").fill("Globex");
  await page.getByRole("button", { name: "Register Key" }).click();
  await expect(page.locator("#field-key-error")).toContainText("This license key has a typo");
});
