// The web page on a server started with --api-keys (GET /frontend/settings says keyRequired):
// the API key field is shown and Translate stays off until a key is typed; a wrong key shows
// the server's 403 message; the right key translates, and the key is remembered on reload.
// usage: node key_check.mjs URL KEY OUTDIR   (screenshot page-key.png goes to OUTDIR)
import { chromium } from "playwright-core";
import fs from "node:fs";
import path from "node:path";

const [url, key, outdir] = process.argv.slice(2);
if (!url || !key || !outdir) {
  console.error("usage: node key_check.mjs URL KEY OUTDIR");
  process.exit(2);
}
fs.mkdirSync(outdir, { recursive: true });
const WAIT = 30000;
const fail = (msg) => { throw new Error(msg); };
const until = (page, what, fn) => page.waitForFunction(fn, null, { timeout: WAIT }).catch(() => fail(`timed out waiting for ${what}`));

const settings = await (await fetch(new URL("frontend/settings", url))).json();
if (settings.keyRequired !== true) fail(`frontend/settings keyRequired is ${settings.keyRequired}`);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--headless", "--no-first-run"],
});
let code = 0;
try {
  const page = await browser.newPage();
  await page.goto(url, { timeout: WAIT });
  await until(page, "the language lists", () => document.querySelectorAll("#target-lang option").length > 0);
  if (!(await page.isVisible("#api-key"))) fail("no API key field although keys are required");
  if (!(await page.isDisabled("#go"))) fail("Translate enabled without a key");
  await page.fill("#api-key", "not-a-valid-key-at-all");
  if (await page.isDisabled("#go")) fail("Translate disabled with a key typed");
  await page.click("#go");
  await until(page, "the 403 message", () => document.querySelector("#error").textContent.includes("Invalid API key"));
  const shown = await page.textContent("#error");
  if (!shown.includes("HTTP 403")) fail(`error reads ${JSON.stringify(shown)}`);
  await page.fill("#api-key", key);
  await page.click("#go");
  await until(page, "a translation", () => !!document.querySelector("#translation").textContent && !document.querySelector("#error").textContent);
  await page.reload();
  await until(page, "the language lists", () => document.querySelectorAll("#target-lang option").length > 0);
  if ((await page.inputValue("#api-key")) !== key) fail("the key is not remembered after a reload");
  await page.screenshot({ path: path.join(outdir, "page-key.png") });
  console.log(`OK keys: field shown, Translate off without a key, wrong key shows ${JSON.stringify(shown)}, right key translates, key remembered`);
} catch (e) {
  console.error(`FAIL ${e.message}`);
  code = 1;
} finally {
  await browser.close();
}
process.exit(code);
