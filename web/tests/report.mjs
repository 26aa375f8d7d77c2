// Opens a report of `mcp report` in headless Chromium (run by crates/cli/tests/report.rs):
// counts the charts, checks each is laid out and has drawn marks of non-zero size, records
// every request the page makes (a self-contained page makes none), and takes a screenshot.
// Usage: node report.mjs REPORT.html SCREENSHOT.png
// Prints {"charts": [{"kind", "output", "width", "height", "marks"}], "requests": [...]}.
import { launch } from "./launch.mjs";
import { pathToFileURL } from "node:url";

const [report, shot] = process.argv.slice(2);
const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const url = pathToFileURL(report).href;
  const requests = [];
  page.on("request", (r) => { if (r.url() !== url) requests.push(r.url()); });
  await page.goto(url, { waitUntil: "load" });
  const charts = await page.evaluate(() => [...document.querySelectorAll("svg.chart")].map((svg) => {
    const box = svg.getBoundingClientRect();
    const marks = [...svg.querySelectorAll(".mark")].filter((m) => {
      const b = m.getBBox();
      return b.width > 0 && b.height > 0;
    }).length;
    return { kind: svg.dataset.chart, output: svg.dataset.output, width: box.width, height: box.height, marks };
  }));
  await page.screenshot({ path: shot, fullPage: true });
  console.log(JSON.stringify({ charts, requests }));
} finally {
  await browser.close();
}
