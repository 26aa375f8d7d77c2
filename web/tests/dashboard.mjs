// Drives the dashboard in headless Chromium during a live job (run by
// crates/cli/tests/dashboard.rs): the progress moves, the consumers table fills, the tornado
// chart ranks the inputs, a pause click pauses a consumer, a bad spec upload shows its error,
// and cancel ends the job.
// Usage: node dashboard.mjs URL MODEL.wasm BAD_SPEC.toml SCREENSHOT_DIR TOKEN
import { chromium } from "playwright-core";

const [url, model, badSpec, shots, token] = process.argv.slice(2);
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
  // The first write asks for the token; confirmations are accepted.
  const prompts = [];
  // The page must live with the server's Content-Security-Policy: nothing inline, nothing
  // from elsewhere. Chromium reports each violation on the console and as an event.
  const violations = [];
  page.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
  });
  await page.exposeFunction("mcpViolation", (v) => violations.push(v));
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) =>
      window.mcpViolation(`${e.violatedDirective}: ${e.blockedURI}`));
  });
  page.on("dialog", (d) => {
    if (d.type() === "prompt") prompts.push(d.message());
    return d.type() === "prompt" ? d.accept(token) : d.accept();
  });
  await page.goto(url);
  await page.waitForSelector("#connection[data-state=live]");

  await page.waitForFunction(() => /[1-9]/.test(document.querySelector("#progress-text").textContent.split(" / ")[0]));
  const first = await scenarios(page);
  await page.waitForFunction(
    (n) => Number(document.querySelector("#progress-text").textContent.split(" / ")[0].replace(/,/g, "")) > n,
    first,
  );
  const later = await scenarios(page);
  // The charts are drawn (the chart library was compiled in).
  await page.waitForSelector("#chart-progress .uplot canvas");
  // The tornado chart: the input ranked first for the price, drawn as a bar of some width.
  const top = '#tornado .tornado[data-output="price"] .tornado-row[data-rank="0"]';
  await page.waitForSelector(`${top} .tornado-bar`);
  const tornado = await page.$eval(top, (row) => ({
    input: row.dataset.input,
    width: row.querySelector(".tornado-bar").getBoundingClientRect().width,
    rows: row.parentElement.querySelectorAll(".tornado-row").length,
  }));
  if (!(tornado.width > 10)) throw new Error(`the tornado's first bar is not drawn: ${JSON.stringify(tornado)}`);

  await page.waitForSelector('#consumers tbody tr[data-id="c1"][data-seen="active"]');
  await page.click('button[data-action="pause"][data-consumer="c1"]');
  await page.waitForSelector('#consumers tbody tr[data-id="c1"][data-seen="paused"]', { timeout: 20000 });
  await page.screenshot({ path: `${shots}/dashboard-live.png`, fullPage: true });

  await page.click("#cancel");
  await page.waitForSelector("#job-state[data-state=cancelled]", { timeout: 20000 });

  // The history lists the job; its page shows the partial summary.
  await page.evaluate(() => { location.hash = "#jobs"; });
  await page.waitForSelector("#jobs tbody tr .badge[data-state=cancelled]");
  await page.click("#jobs tbody tr a");
  await page.waitForSelector("#job-page-summary table");
  const summary = await page.textContent("#job-page-summary");
  if (!summary.includes("price")) throw new Error(`no summary on the job page: ${summary}`);
  await page.screenshot({ path: `${shots}/dashboard-job.png`, fullPage: true });

  // Readable on a phone: nothing wider than the screen but the scrolling tables.
  await page.evaluate(() => { location.hash = ""; });
  await page.setViewportSize({ width: 390, height: 844 });
  // The charts take the new width at the next snapshot: count renders from after the resize,
  // or a render of the old width that lands in between would pass for it.
  const renders = await page.evaluate(() => window.mcpRenders);
  await page.waitForFunction((n) => window.mcpRenders > n, renders);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 0) throw new Error(`the page is ${overflow}px wider than a phone screen`);
  await page.screenshot({ path: `${shots}/dashboard-phone.png`, fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });

  await page.evaluate(() => { location.hash = "#submit"; });
  await page.setInputFiles("input[name=model]", model);
  await page.setInputFiles("input[name=spec]", badSpec);
  await page.click("#submit-form button[type=submit]");
  await page.waitForSelector("#submit-error:not([hidden])");
  const error = await page.textContent("#submit-error");
  await page.screenshot({ path: `${shots}/dashboard-bad-upload.png`, fullPage: true });
  if (violations.length > 0) throw new Error(`the page broke its CSP: ${violations.join("; ")}`);
  console.log(JSON.stringify({ progress: [first, later], error, prompts, tornado }));
} finally {
  await browser.close();
}
