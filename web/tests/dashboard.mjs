// Drives the dashboard in headless Chromium during a live job (run by
// crates/cli/tests/dashboard.rs): the progress moves, the consumers table fills, a pause click
// pauses a consumer, a bad spec upload shows its error, and cancel ends the job.
// Usage: node dashboard.mjs URL MODEL.wasm BAD_SPEC.toml SCREENSHOT_DIR
import { chromium } from "playwright-core";

const [url, model, badSpec, shots] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.MCP_TEST_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  // No network here: nothing may phone home.
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"],
});
const scenarios = async (page) =>
  Number((await page.textContent("#progress-text")).split(" / ")[0].replace(/,/g, "")) || 0;
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("dialog", (d) => d.accept());
  await page.goto(url);
  await page.waitForSelector("#connection[data-state=live]");

  await page.waitForFunction(() => /[1-9]/.test(document.querySelector("#progress-text").textContent.split(" / ")[0]));
  const first = await scenarios(page);
  await page.waitForFunction(
    (n) => Number(document.querySelector("#progress-text").textContent.split(" / ")[0].replace(/,/g, "")) > n,
    first,
  );
  const later = await scenarios(page);

  await page.waitForSelector('#consumers tbody tr[data-id="c1"][data-seen="active"]');
  await page.click('button[data-action="pause"][data-consumer="c1"]');
  await page.waitForSelector('#consumers tbody tr[data-id="c1"][data-seen="paused"]', { timeout: 20000 });
  await page.screenshot({ path: `${shots}/dashboard-live.png`, fullPage: true });

  await page.click("#cancel");
  await page.waitForSelector("#job-state[data-state=cancelled]", { timeout: 20000 });

  await page.evaluate(() => { location.hash = "#submit"; });
  await page.setInputFiles("input[name=model]", model);
  await page.setInputFiles("input[name=spec]", badSpec);
  await page.click("#submit-form button[type=submit]");
  await page.waitForSelector("#submit-error:not([hidden])");
  const error = await page.textContent("#submit-error");
  await page.screenshot({ path: `${shots}/dashboard-bad-upload.png`, fullPage: true });
  console.log(JSON.stringify({ progress: [first, later], error }));
} finally {
  await browser.close();
}
