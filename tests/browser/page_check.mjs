// Loads tolk serve's web page in headless Chromium and checks it against the server's own API
// (the test model translates poorly, so no particular words are asserted; the page must show
// what the API answers for the very request the page sent):
//   languages  selectors built from GET /languages, swap enabled only for a loaded reverse pair,
//              character counter against GET /frontend/settings' charLimit (red, Translate off)
//   translate  a three-line German text: loading state while the request runs, the shown
//              translation equals translations[0].hypotheses[0].text (three lines, pre-wrap),
//              "Detected: …" for source auto, one n-best row per hypothesis, copy button
//   heatmap    sentence selector with 3 sentences; the 2nd sentence's heatmap has one row per
//              tgt_token and one column per src_token, no "▁", word-start marks, axis titles,
//              α(TGT, SRC) = d.ddd on hover
//   keyboard   n-best rows: ArrowDown moves focus, Enter selects (translation and heatmap follow);
//              heatmap cells: ArrowRight / ArrowDown move focus, the α line follows
//   400px      no horizontal scroll of the page at 400 px width after a translation
//   errors     /v1/translate aborted (server unreachable) and answered 500 {"error":"boom"}:
//              message shown, not stuck loading, the previous result cleared
// usage: node page_check.mjs URL OUTDIR   (screenshots page-sentences.png, page-400px.png,
//        page-error.png go to OUTDIR; CHROMIUM overrides /usr/bin/chromium)
import { chromium } from "playwright-core";
import fs from "node:fs";
import path from "node:path";

const [url, outdir] = process.argv.slice(2);
if (!url || !outdir) {
  console.error("usage: node page_check.mjs URL OUTDIR");
  process.exit(2);
}
fs.mkdirSync(outdir, { recursive: true });
const TEXT = "Ein Hund läuft im Park.\nZwei Männer spielen Fußball.\nEine Frau liest ein Buch.";
const WAIT = 30000;
const t0 = Date.now();

class CheckFailed extends Error {}
const fail = (msg) => { throw new CheckFailed(msg); };
const ok = (name, msg) => console.log(`OK ${name}: ${msg}`);
const strip = (tok) => { const s = tok.startsWith("▁") ? tok.slice(1) : tok; return s; };

async function getJSON(p) {
  const res = await fetch(new URL(p, url));
  if (!res.ok) fail(`GET ${p}: HTTP ${res.status}`);
  return res.json();
}
async function apiTranslate(requestUrl, body) {
  const res = await fetch(requestUrl, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const data = await res.json();
  if (!res.ok) fail(`API ${res.status}: ${JSON.stringify(data)}`);
  return data;
}

// What the page looks like now, for failure messages.
const snapshot = (page) => page.evaluate(() => {
  const q = (s) => document.querySelector(s);
  return JSON.stringify({
    status: q("#status")?.textContent, error: q("#error")?.textContent, translation: q("#translation")?.textContent,
    goDisabled: q("#go")?.disabled, busy: q("[aria-busy=true]")?.id ?? null,
  });
});
async function waitFor(page, what, fn, arg) {
  try { await page.waitForFunction(fn, arg, { timeout: WAIT }); } catch (e) { fail(`timed out waiting for ${what}; page: ${await snapshot(page)}`); }
}
const idle = () => !document.querySelector("#go").disabled && !document.querySelector("[aria-busy=true]")
  && !document.querySelector("#status").textContent.includes("Translating");
const translated = (page) => waitFor(page, "a translation",
  () => !!document.querySelector("#translation").textContent && !document.querySelector("[aria-busy=true]"));
const errored = (page) => waitFor(page, "an error message",
  () => !!document.querySelector("#error").textContent.trim() && !document.querySelector("[aria-busy=true]"));

async function loaded(page) {
  await page.goto(url, { timeout: WAIT });
  await waitFor(page, "the language lists", () =>
    document.querySelectorAll("#source-lang option").length > 1 && document.querySelectorAll("#target-lang option").length > 0);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--headless", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const pageErrors = [];
let code = 0;
try {
  const langs = await getJSON("languages");
  const settings = await getJSON("frontend/settings");
  const names = Object.fromEntries(langs.map((l) => [l.code, l.name]));
  const limit = settings.charLimit > 0 ? settings.charLimit : null;

  const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: new URL(url).origin });
  const page = await context.newPage();
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  await loaded(page);
  if (settings.keyRequired || await page.isVisible("#key-row")) fail("the API key field is shown on a server that needs no key");

  // ---- languages, swap, counter ----
  const srcOpts = await page.$$eval("#source-lang option", (os) => os.map((o) => [o.value, o.textContent]));
  const wantSrc = ["auto", ...langs.map((l) => l.code)];
  if (JSON.stringify(srcOpts.map((o) => o[0])) !== JSON.stringify(wantSrc)) fail(`source options ${JSON.stringify(srcOpts)}, want ${JSON.stringify(wantSrc)}`);
  if (!/auto/i.test(srcOpts[0][1])) fail(`first source option reads ${JSON.stringify(srcOpts[0][1])}`);
  await page.selectOption("#source-lang", "auto");
  const allTargets = [...new Set(langs.flatMap((l) => l.targets))];
  const tgtOpts = await page.$$eval("#target-lang option", (os) => os.map((o) => o.value));
  if (JSON.stringify([...tgtOpts].sort()) !== JSON.stringify([...allTargets].sort())) fail(`targets for auto ${tgtOpts}, want ${allTargets}`);
  if (!(await page.isDisabled("#swap"))) fail("swap enabled with source auto");
  let swapNote = "";
  for (const l of langs) {
    for (const t of l.targets) {
      await page.selectOption("#source-lang", l.code);
      await page.selectOption("#target-lang", t);
      const rev = langs.some((m) => m.code === t && m.targets.includes(l.code));
      if ((await page.isDisabled("#swap")) === rev) fail(`swap ${rev ? "disabled" : "enabled"} for ${l.code}→${t}`);
      if (rev && !swapNote) {
        await page.click("#swap");
        const now = [await page.inputValue("#source-lang"), await page.inputValue("#target-lang")];
        if (now[0] !== t || now[1] !== l.code) fail(`swap of ${l.code}→${t} gave ${now.join("→")}`);
        swapNote = `, swap ${l.code}→${t} gives ${t}→${l.code}`;
      }
    }
  }
  await page.fill("#src", TEXT);
  const n = [...TEXT].length;
  const counter = (await page.textContent("#counter")).trim();
  if (limit) {
    if (counter !== `${n} / ${limit}`) fail(`counter shows ${JSON.stringify(counter)}, want "${n} / ${limit}"`);
    await page.fill("#src", "a".repeat(limit + 1));
    const red = await page.$eval("#counter", (e) => { const [r, g, b] = getComputedStyle(e).color.match(/\d+/g).map(Number); return r > 150 && g < 80 && b < 80; });
    if (!red) fail("counter not red over the limit");
    if (!(await page.isDisabled("#go"))) fail("Translate enabled over the limit");
    await page.fill("#src", TEXT);
    if (await page.isDisabled("#go")) fail("Translate disabled under the limit");
  }
  ok("languages", `${wantSrc.length} sources (auto first), ${allTargets.length} targets for auto${swapNote}; counter "${counter}"${limit ? ", red and Translate off over the limit" : ""}`);

  // ---- translate a three-line text (source auto), with the request held to see the loading state ----
  await page.selectOption("#source-lang", "auto");
  if (allTargets.includes("en")) await page.selectOption("#target-lang", "en");
  await page.fill("#beam", "5");
  await page.fill("#nbest-n", "3");
  let release;
  const gate = new Promise((r) => { release = r; });
  await page.route("**/v1/translate", async (route) => { await gate; await route.continue(); });
  const reqP = page.waitForRequest("**/v1/translate");
  await page.click("#go");
  const req = await reqP;
  await waitFor(page, "the loading state", () => document.querySelector("#status").textContent.includes("Translating"));
  if (!(await page.isDisabled("#go"))) fail("Translate enabled while translating");
  if (!(await page.$("[aria-busy=true]"))) fail("no aria-busy while translating");
  release();
  await translated(page);
  await page.unrouteAll();
  await waitFor(page, "the end of the loading state", idle);
  const body = req.postDataJSON();
  if ("model" in body || !body.source || !body.target) fail(`page sent ${JSON.stringify(body)}: want source/target, no model`);
  if (body.alignment !== "soft") fail(`page asked for alignment ${body.alignment}`);
  if (body.src !== TEXT) fail(`page sent src ${JSON.stringify(body.src)}`);
  const api = await apiTranslate(req.url(), body);
  const tr = api.translations[0];
  const shown = await page.textContent("#translation");
  if (shown !== tr.hypotheses[0].text) fail(`page shows ${JSON.stringify(shown)}, API says ${JSON.stringify(tr.hypotheses[0].text)}`);
  if (shown.split("\n").length !== 3) fail(`translation has ${shown.split("\n").length} lines: ${JSON.stringify(shown)}`);
  const ws = await page.$eval("#translation", (e) => getComputedStyle(e).whiteSpace);
  if (!["pre-wrap", "break-spaces", "pre-line"].includes(ws)) fail(`#translation white-space: ${ws}`);
  let detectedNote = "";
  if (api.detected) {
    const want = `Detected: ${names[api.detected.language] || api.detected.language} (${Number(api.detected.confidence).toFixed(1)} %)`;
    const got = (await page.textContent("#detected")).trim();
    if (got !== want) fail(`#detected shows ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
    detectedNote = `; "${got}"`;
  }
  const nbestRows = page.locator("#nbest [role=option]");
  if ((await nbestRows.count()) !== tr.hypotheses.length) fail(`${await nbestRows.count()} n-best rows for ${tr.hypotheses.length} hypotheses`);
  ok("translate", `${body.source}→${body.target}, 3 lines shown = API hypotheses[0].text ${JSON.stringify(shown)}${detectedNote}; ${tr.hypotheses.length} n-best rows; loading state seen`);

  // ---- copy ----
  await page.click("#copy");
  await waitFor(page, "the copy feedback", () => /copied/i.test(document.querySelector("#copy").textContent));
  const clip = await page.evaluate(() => navigator.clipboard.readText());
  if (clip !== shown) fail(`clipboard holds ${JSON.stringify(clip)}`);
  ok("copy", "the clipboard holds the shown translation");

  // ---- sentences and heatmap ----
  const nOpts = await page.locator("#sentences option").count();
  if (nOpts !== 3 || tr.sentences.length !== 3) fail(`${nOpts} sentences offered, API has ${tr.sentences.length}, want 3`);
  await page.selectOption("#sentences", { index: 1 });
  const checkHeatmap = async (a, what) => {
    const rows = await page.locator("#heatmap tbody tr").count();
    const cols = await page.locator("#heatmap tbody tr").first().locator("td").count();
    if (rows !== a.tgt_tokens.length) fail(`${what}: ${rows} heatmap rows for ${a.tgt_tokens.length} tgt_tokens`);
    if (cols !== a.src_tokens.length) fail(`${what}: ${cols} heatmap columns for ${a.src_tokens.length} src_tokens`);
    return [rows, cols];
  };
  const a1 = tr.sentences[1].hypotheses[0].alignment;
  if (!a1 || !a1.weights) fail("API answer has no soft alignment for sentence 2");
  const [rows, cols] = await checkHeatmap(a1, "sentence 2");
  const html = await page.$eval("#heatmap", (e) => e.outerHTML);
  if (html.includes("▁")) fail("heatmap shows a raw ▁");
  const heads = await page.$$eval("#heatmap thead th:not(.corner)", (ths) => ths.map((t) => [t.textContent, t.classList.contains("ws")]));
  if (heads.length !== cols) fail(`${heads.length} column titles for ${cols} columns`);
  heads.forEach(([txt, isWs], j) => {
    const tok = a1.src_tokens[j], want = strip(tok);
    if (want ? txt !== want : !txt) fail(`column ${j} titled ${JSON.stringify(txt)} for ${JSON.stringify(tok)}`);
    if (isWs !== tok.startsWith("▁")) fail(`column ${j} (${JSON.stringify(tok)}) word-start mark ${isWs}`);
  });
  const rowWs = await page.$$eval("#heatmap tbody tr", (trs) => trs.map((t) => t.classList.contains("ws")));
  rowWs.forEach((isWs, t) => { if (isWs !== a1.tgt_tokens[t].startsWith("▁")) fail(`row ${t} (${a1.tgt_tokens[t]}) word-start mark ${isWs}`); });
  const axisX = await page.textContent("#axis-x"), axisY = await page.textContent("#axis-y");
  if (!axisX.includes(`source (${names[api.source] || api.source})`)) fail(`axis title across: ${JSON.stringify(axisX)}`);
  if (!axisY.includes(`target (${names[api.target] || api.target})`)) fail(`axis title down: ${JSON.stringify(axisY)}`);
  const [ht, hs] = [Math.min(1, rows - 1), Math.min(2, cols - 1)];
  await page.locator("#heatmap tbody tr").nth(ht).locator("td").nth(hs).hover();
  const hover = (await page.textContent("#hover")).trim();
  if (!/^α\(.+, .+\) = \d\.\d{3}$/.test(hover)) fail(`hover shows ${JSON.stringify(hover)}`);
  const wantHover = `α(${strip(a1.tgt_tokens[ht]) || "␣"}, ${strip(a1.src_tokens[hs]) || "␣"}) = ${Number(a1.weights[ht][hs]).toFixed(3)}`;
  if (hover !== wantHover) fail(`hover shows ${JSON.stringify(hover)}, want ${JSON.stringify(wantHover)}`);
  await page.screenshot({ path: path.join(outdir, "page-sentences.png"), fullPage: true });
  ok("heatmap", `3 sentences offered; sentence 2: ${rows} target x ${cols} source subwords as in the API, no ▁, word starts marked, axis titles; hover "${hover}"`);

  // ---- keyboard ----
  const k = tr.hypotheses.length > 1 ? 1 : 0;
  await nbestRows.first().focus();
  await page.keyboard.press("ArrowDown");
  const focusedRow = await page.evaluate(() => [...document.querySelectorAll("#nbest [role=option]")].indexOf(document.activeElement));
  if (focusedRow !== k) fail(`ArrowDown on n-best row 1 focuses row ${focusedRow + 1}`);
  await page.keyboard.press("Enter");
  const selected = await page.$$eval("#nbest [role=option]", (os) => os.map((o) => o.getAttribute("aria-selected")));
  if (selected[k] !== "true") fail(`Enter on n-best row ${k + 1}: aria-selected ${JSON.stringify(selected)}`);
  if ((await page.textContent("#translation")) !== tr.hypotheses[k].text) fail(`n-best row ${k + 1} selected, translation not hypotheses[${k}].text`);
  const s1 = tr.sentences[1].hypotheses;
  await checkHeatmap(s1[Math.min(k, s1.length - 1)].alignment, `sentence 2, hypothesis ${k + 1}`);
  await page.locator("#heatmap tbody td").first().focus();
  await page.keyboard.press("ArrowRight");
  const at = () => page.evaluate(() => {
    const e = document.activeElement;
    return e && e.tagName === "TD" ? [e.parentElement.rowIndex - 1, e.cellIndex - 1] : null;
  });
  const p1 = await at();
  if (!p1 || p1[0] !== 0 || p1[1] !== 1) fail(`ArrowRight from cell (1,1) focuses ${JSON.stringify(p1)}`);
  await page.keyboard.press("ArrowDown");
  const p2 = await at();
  if (!p2 || p2[0] !== 1 || p2[1] !== 1) fail(`ArrowDown from cell (1,2) focuses ${JSON.stringify(p2)}`);
  const focusHover = (await page.textContent("#hover")).trim();
  const focusTitle = await page.evaluate(() => document.activeElement.title);
  if (focusHover !== focusTitle || !/^α\(.+\) = \d\.\d{3}$/.test(focusHover)) fail(`focused cell: hover line ${JSON.stringify(focusHover)}, title ${JSON.stringify(focusTitle)}`);
  ok("keyboard", `n-best ArrowDown+Enter selects row ${k + 1} (translation and heatmap follow); heatmap ArrowRight/ArrowDown move focus, "${focusHover}"`);

  // ---- 400 px ----
  const narrow = await browser.newPage({ viewport: { width: 400, height: 800 } });
  narrow.on("pageerror", (e) => pageErrors.push(String(e)));
  await loaded(narrow);
  await narrow.fill("#src", TEXT);
  await narrow.click("#go");
  await translated(narrow);
  await narrow.selectOption("#sentences", { index: 1 });
  const sw = await narrow.evaluate(() => document.documentElement.scrollWidth);
  if (sw > 400) fail(`page is ${sw} px wide at a 400 px viewport`);
  await narrow.screenshot({ path: path.join(outdir, "page-400px.png"), fullPage: true });
  await narrow.close();
  ok("400px", `scrollWidth ${sw} <= 400 after a translation`);

  // ---- errors: unreachable, then HTTP 500 ----
  const cleared = async (what) => {
    const st = await page.evaluate(() => ({
      translation: document.querySelector("#translation").textContent,
      nbest: document.querySelectorAll("#nbest [role=option]").length,
      cells: document.querySelectorAll("#heatmap td").length,
      status: document.querySelector("#status").textContent,
      go: document.querySelector("#go").disabled,
      error: document.querySelector("#error").textContent.trim(),
      errorVisible: !!document.querySelector("#error").offsetParent,
    }));
    if (st.translation || st.nbest || st.cells) fail(`${what}: previous result left beside the error ${JSON.stringify(st)}`);
    if (st.go || st.status.includes("Translating")) fail(`${what}: stuck loading ${JSON.stringify(st)}`);
    if (!st.errorVisible) fail(`${what}: error not visible`);
    return st.error;
  };
  await page.route("**/v1/translate", (route) => route.abort(), { times: 1 });
  await page.click("#go");
  await errored(page);
  const e1 = await cleared("server unreachable");
  await page.unrouteAll();
  await page.click("#go");
  await translated(page);
  await waitFor(page, "the end of the loading state", idle);
  if ((await page.textContent("#error")).trim()) fail("error message left after a successful translation");
  await page.route("**/v1/translate", (route) => route.fulfill({ status: 500, contentType: "application/json", body: '{"error":"boom"}' }), { times: 1 });
  await page.click("#go");
  await errored(page);
  const e2 = await cleared("HTTP 500");
  if (!e2.includes("boom") || !e2.includes("500")) fail(`HTTP 500 error reads ${JSON.stringify(e2)}: want "boom" and the status`);
  await page.screenshot({ path: path.join(outdir, "page-error.png"), fullPage: true });
  await page.unrouteAll();
  ok("errors", `unreachable: "${e1}"; 500: "${e2}"; result cleared, not stuck loading`);

  if (pageErrors.length) fail(`uncaught errors in the page: ${pageErrors.join("; ")}`);
  console.log(`OK all checks in ${((Date.now() - t0) / 1000).toFixed(1)} s; screenshots in ${outdir}`);
} catch (e) {
  console.error(`FAIL: ${e instanceof CheckFailed ? e.message : e.stack || e}`);
  code = 1;
} finally {
  await browser.close();
}
process.exit(code);
