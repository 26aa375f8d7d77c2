// Opens the dashboard of `mcp serve` on the page of a job its [stop] rule ended (run by
// crates/cli/tests/dashboard.rs) and reads what the job's facts say, live view and job page.
// Usage: node stopped.mjs URL JOB_ID SCREENSHOT_DIR
// Prints {"live": "<text of the live job's facts>", "page": "<text of the job page's facts>"}.
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
  await page.screenshot({ path: `${shots}/dashboard-stopped.png`, fullPage: true });
  console.log(JSON.stringify({ live, page: facts }));
} finally {
  await browser.close();
}
