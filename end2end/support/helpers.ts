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
