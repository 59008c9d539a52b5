// Loads tolk serve's web page in headless Chromium, types a German sentence, translates it,
// and checks the page against the native API: the shown translation is the API's best
// hypothesis, the n-best table has one row per hypothesis, and the heatmap has one row per
// target subword (plus </s>) and one column per source subword (plus </s>), with α on hover.
// usage: node page_check.mjs URL SCREENSHOT.png   (CHROMIUM overrides /usr/bin/chromium)
import { chromium } from "playwright-core";

const [url, screenshot] = process.argv.slice(2);
const sentence = "Ein Mann mit einem roten Hut spielt Gitarre auf der Straße.";
const fail = (msg) => { console.error(`FAIL: ${msg}`); process.exit(1); };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
  await page.goto(url, { timeout: 30000 });
  await page.fill("#src", sentence);
  await page.fill("#beam", "5");
  await page.fill("#nbest-n", "3");
  await page.click("#go");
  await page.waitForSelector("#heatmap tbody tr", { timeout: 60000 });
  const shown = (await page.textContent("#translation")).trim();
  const api = await (await fetch(new URL("/v1/translate", url), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ src: sentence, beam_size: 5, n_best: 3, alignment: "soft" }),
  })).json();
  const best = api.translations[0].hypotheses[0];
  if (shown !== best.text) fail(`page shows ${JSON.stringify(shown)}, API says ${JSON.stringify(best.text)}`);
  const nbestRows = await page.locator("#nbest tr").count();
  if (nbestRows !== api.translations[0].hypotheses.length) fail(`${nbestRows} n-best rows`);
  const rows = await page.locator("#heatmap tbody tr").count();
  const cols = await page.locator("#heatmap thead th").count() - 1;
  if (rows !== best.alignment.tgt_tokens.length) fail(`${rows} heatmap rows for ${best.alignment.tgt_tokens.length} target subwords`);
  if (rows < best.tokens.length) fail(`fewer heatmap rows (${rows}) than target subwords (${best.tokens.length})`);
  if (cols !== best.alignment.src_tokens.length) fail(`${cols} heatmap columns for ${best.alignment.src_tokens.length} source subwords`);
  const cell = page.locator("#heatmap tbody tr").first().locator("td").first();
  await cell.hover();
  const hover = await page.textContent("#hover");
  if (!/^α\(.+\) = \d\.\d{3}$/.test(hover)) fail(`hover shows ${JSON.stringify(hover)}`);
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`OK: "${sentence}" -> "${shown}"; heatmap ${rows} target x ${cols} source subwords; hover "${hover}"`);
} finally {
  await browser.close();
}
