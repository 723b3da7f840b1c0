// The dashboard of `cratis serve` over a real experiment (tests/e2e/serve_experiment.sh): signs
// in, and checks that the experiment's chart is drawn from the server's own status document (a
// line per variant, the status shown, no raw object dumped). Environment: URL, TOKEN, EXPERIMENT
// (its name), VARIANTS (comma-separated), ARTIFACTS (screenshot), CHROMIUM (default
// /usr/bin/chromium). Prints "ok - ..." / "FAIL - ..." lines; exits 1 when a check failed.
'use strict';
const path = require('path');
const { chromium } = require('playwright-core');

const env = (k) => {
  if (!process.env[k]) { console.log(`FAIL - ${k} is not set`); process.exit(2); }
  return process.env[k];
};
const URL = env('URL'), TOKEN = env('TOKEN'), NAME = env('EXPERIMENT'), ARTIFACTS = env('ARTIFACTS');
const VARIANTS = env('VARIANTS').split(',');
let failed = 0;
const ok = (m) => console.log(`ok - ${m}`);
const fail = (m) => { failed++; console.log(`FAIL - ${m}`); };
async function check(name, fn) {
  try {
    if ((await fn()) === false) fail(name); else ok(name);
  } catch (e) {
    fail(`${name}: ${String(e.message || e).split('\n')[0]}`);
  }
}

(async () => {
  const args = typeof process.getuid === 'function' && process.getuid() === 0 ? ['--no-sandbox'] : [];
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args });
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 1000 } })).newPage();
  page.setDefaultTimeout(60000);
  const errors = [];
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  const box = `#experiments .experiment[data-experiment="${NAME}"]`;
  await check('signs in', async () => {
    await page.goto(`${URL}/ui/`);
    await page.fill('#token', TOKEN);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#app', { state: 'visible' });
  });
  await check(`the chart of the real experiment '${NAME}' has a line per variant (${VARIANTS})`, async () => {
    await page.waitForSelector(`${box} svg.chart`);
    const lines = await page.$$eval(`${box} svg.chart polyline.line`, (ls) => ls.map((l) => l.dataset.variant).sort());
    if (JSON.stringify(lines) !== JSON.stringify(VARIANTS.slice().sort())) throw new Error(`lines for ${lines}`);
  });
  await check('its status is shown, and no object is dumped as text', async () => {
    const text = await page.textContent(box);
    if (!/status: (running|decided|concluded)/.test(text)) throw new Error(`no status in '${text.slice(0, 200)}'`);
    if (/\[object|tau2|p_value/.test(text)) throw new Error(`a raw object in '${text.slice(0, 300)}'`);
  });
  await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-real-experiment.png'), fullPage: true });
  if (errors.length) fail(`page errors: ${errors.join('; ')}`);
  await browser.close();
  process.exit(failed ? 1 : 0);
})().catch((e) => { console.log(`FAIL - ${e.message}`); process.exit(1); });
