// Opens the dashboard of `mcp serve` on the page of a job its [stop] rule ended (run by
// crates/cli/tests/dashboard.rs) and reads what the job's facts say, live view and job page.
// Usage: node stopped.mjs URL JOB_ID SCREENSHOT_DIR
// Prints {"live": "<text of the live job's facts>", "page": "<text of the job page's facts>",
// "download": {"links", "status", "csv": [header, first row]}} (the summary's CSV link fetched).
import { launch } from "./launch.mjs";

const [url, job, shots] = process.argv.slice(2);
const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(url);
  await page.waitForSelector("#connection[data-state=live]");
  // The live view follows the job that ended last: this one.
  await page.waitForSelector("#job-state[data-state=completed]");
  await page.waitForFunction(() => /stopped/.test(document.querySelector("#job-facts").textContent));
  const live = await page.textContent("#job-facts");
  await page.evaluate((id) => { location.hash = `#job/${encodeURIComponent(id)}`; }, job);
  await page.waitForFunction(() => /stopped/.test(document.querySelector("#job-page-facts").textContent));
  const facts = await page.textContent("#job-page-facts");
  // The job page's download links serve the summary in each format.
  await page.waitForSelector("#job-page-downloads:not([hidden]) a");
  const links = await page.$$eval("#job-page-downloads a", (as) => as.map((a) => a.getAttribute("href")));
  const csvLink = links.find((l) => l.endsWith("/results?format=csv"));
  const csv = await page.request.get(new URL(csvLink, url).href);
  const download = { links, status: csv.status(), csv: (await csv.text()).split("\n").slice(0, 2) };
  await page.screenshot({ path: `${shots}/dashboard-stopped.png`, fullPage: true });
  console.log(JSON.stringify({ live, page: facts, download }));
} finally {
  await browser.close();
}
