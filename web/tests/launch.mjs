// The headless Chromium every browser test drives: the one of MCP_TEST_CHROMIUM (Debian's by
// default), with nothing that would reach the network.
import { chromium } from "playwright-core";

export function launch() {
  return chromium.launch({
    executablePath: process.env.MCP_TEST_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    // No network here: nothing may phone home.
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"],
  });
}
