import fs from "node:fs";

// The data folder is throw-away: remove it with the run.
export default function teardown() {
  const dir = process.env.SEATGATE_E2E_DATA;
  if (dir && dir.includes("seatgate-e2e-")) fs.rmSync(dir, { recursive: true, force: true });
}
