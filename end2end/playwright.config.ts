import { defineConfig, devices } from "@playwright/test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

// A throw-away data folder (SQLite database, secret key) for this run, shared with the workers.
process.env.SEATGATE_E2E_DATA ??= fs.mkdtempSync(path.join(os.tmpdir(), "seatgate-e2e-"));
const PORT = Number(process.env.SEATGATE_E2E_PORT ?? 3100);
const SMTP = Number(process.env.MAILSINK_SMTP_PORT ?? 2525);
const MAIL_HTTP = Number(process.env.MAILSINK_HTTP_PORT ?? 2580);
const DNS = Number(process.env.TESTDNS_PORT ?? 5354);
const DNS_HTTP = Number(process.env.TESTDNS_HTTP_PORT ?? 2581);
const BASE = `http://127.0.0.1:${PORT}`;
const IDP = Number(process.env.TEST_IDP_PORT ?? 5380);

export default defineConfig({
  testDir: "./tests",
  timeout: 60_000,
  workers: 1,
  reporter: "list",
  globalTeardown: "./support/teardown.ts",
  use: {
    baseURL: BASE,
    trace: "retain-on-failure",
    ...devices["Desktop Chrome"],
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        "--disable-quic",
      ],
    },
  },
  webServer: [
    {
      command: "node support/mailsink.mjs",
      url: `http://127.0.0.1:${MAIL_HTTP}/health`,
      env: { MAILSINK_SMTP_PORT: String(SMTP), MAILSINK_HTTP_PORT: String(MAIL_HTTP) },
      reuseExistingServer: false,
    },
    {
      command: "node support/dnsserver.mjs",
      url: `http://127.0.0.1:${DNS_HTTP}/health`,
      env: { TESTDNS_PORT: String(DNS), TESTDNS_HTTP_PORT: String(DNS_HTTP) },
      reuseExistingServer: false,
    },
    {
      // the SAML IdP of the SSO tests (examples/test_idp.rs, built by scripts/test.sh)
      command: `./target/release/examples/test_idp 127.0.0.1:${IDP}`,
      cwd: "..",
      url: `http://127.0.0.1:${IDP}/health`,
      reuseExistingServer: false,
    },
    {
      command: "./target/release/seatgate serve",
      cwd: "..",
      url: `${BASE}/readyz`,
      timeout: 60_000,
      reuseExistingServer: false,
      env: {
        SEATGATE_LISTEN: `127.0.0.1:${PORT}`,
        SEATGATE_DATA_DIR: process.env.SEATGATE_E2E_DATA!,
        SEATGATE_PUBLIC_URL: BASE,
        SEATGATE_SMTP_URL: `smtp://127.0.0.1:${SMTP}`,
        SEATGATE_DNS_SERVER: `127.0.0.1:${DNS}`,
        LEPTOS_SITE_ROOT: "target/site",
        RUST_LOG: "seatgate=info",
      },
    },
  ],
});
