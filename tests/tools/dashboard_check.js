// Drives the dashboard of `cratis serve` in headless Chromium (Debian's, through playwright-core)
// for tests/e2e/dashboard.sh. Environment:
//   URL        the server (http://127.0.0.1:PORT)
//   TOKEN      an admin token;  BAD_TOKEN  a well-formed token the server does not know
//   PROJECT    the registered project; ENV its environment
//   DEP1       the id of the deployment the CLI made before the page opened
//   ARTIFACTS  where the screenshots go;  CHROMIUM  the browser (default /usr/bin/chromium)
//   ROLLOUT_PROJECT, ROLLOUT, ACTIVE, PREVIEW  (optional) a Rollout with a release active and one
//              in preview, promoted through the API while the page is open
//   SERVER_PID, CRATIS, STATE_DIR, SERVER_LOG, POLICY  (optional, with the Rollout) the server is
//              stopped (SIGTERM) while the page is open and started again on its port by this script
//   VIEWER_TOKEN  (optional) a token whose role may not read the events nor the rollouts
// Prints "ok - ..." / "FAIL - ..." lines and exits 1 when any check failed. Every wait is for a
// selector or a condition, bounded generously (no timing is asserted).
'use strict';
const path = require('path');
const fs = require('fs');
const { spawn } = require('child_process');
const { chromium } = require('playwright-core');

const env = (k) => {
  if (!process.env[k]) { console.log(`FAIL - ${k} is not set`); process.exit(2); }
  return process.env[k];
};
const URL = env('URL'), TOKEN = env('TOKEN'), BAD = env('BAD_TOKEN'), PROJECT = env('PROJECT');
const ENV = env('ENV'), DEP1 = env('DEP1'), ARTIFACTS = env('ARTIFACTS');
const WAIT = 60000;

let failed = 0;
const ok = (m) => console.log(`ok - ${m}`);
const fail = (m) => { failed++; console.log(`FAIL - ${m}`); };
async function check(name, fn) {
  try {
    const r = await fn();
    if (r === false) fail(name); else ok(name);
  } catch (e) {
    fail(`${name}: ${String(e.message || e).split('\n')[0]}`);
  }
}

// the experiment document of the format: two variants, three measurements
const EXPERIMENT = {
  project: PROJECT, environment: ENV, name: 'checkout-button', status: 'running', verdict: 'inconclusive',
  winner: null, control: 'blue', started: '2026-01-01T10:00:00Z', updated: '2026-01-01T10:10:00Z',
  elapsedSeconds: 600, result: null,
  history: [0, 300, 600].map((t, i) => ({
    time: `2026-01-01T10:0${i * 5}:00Z`, elapsedSeconds: t,
    variants: [
      { name: 'blue', value: 0.10 + i * 0.002, ciLow: 0.08, ciHigh: 0.12, exposures: 100 * (i + 1) },
      { name: 'green', value: 0.11 + i * 0.01, ciLow: 0.09 + i * 0.005, ciHigh: 0.14 + i * 0.01, exposures: 100 * (i + 1) },
    ],
  })),
};
const TEAMS = [{ name: 'payments', description: 'the payments team', members: ['alice', 'bob'] }];
const NAMESPACES = [{ team: 'payments', environment: ENV, name: 'payments-staging',
  quota: { cpu: '2', memory: '4Gi', services: 5 }, usage: { cpu: '0.5', memory: '1Gi', services: 1 } }];

(async () => {
  const args = typeof process.getuid === 'function' && process.getuid() === 0 ? ['--no-sandbox'] : [];
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args });
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);

  // console errors: none, except the browser's report of the answers the test provokes (401 for
  // the wrong token; 404 for the experiments and teams routes while a server has none)
  let expect401 = false, expectRefused = false, expect403 = false;
  const errors = [];
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const where = (m.location() && m.location().url) || '';
    const p = where.startsWith(URL) ? new globalThis.URL(where).pathname : where;
    if (/status of 401/.test(m.text()) && expect401) return;
    if (/status of 403/.test(m.text()) && expect403 && /^\/v1\/(events\/stream|projects\/[^/]+\/environments\/[^/]+\/rollouts\/)/.test(p)) return;
    if (/ERR_CONNECTION_REFUSED|ERR_EMPTY_RESPONSE|ERR_CONNECTION_RESET/.test(m.text()) && expectRefused) return;
    if (/status of 404/.test(m.text()) && /^\/v1\/(experiments|teams)(\/|$)/.test(p)) return;
    errors.push(`${m.text()} (${where})`);
  });
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));

  const row = (id) => `#deployments tr[data-deployment-id="${id}"]`;

  await check('GET / in a browser redirects to the dashboard', async () => {
    await page.goto(`${URL}/`);
    return page.url() === `${URL}/ui/`;
  });
  await check('the sign-in is shown first', () => page.waitForSelector('#login-form #token', { state: 'visible' }));

  // a wrong token: the server answers 401, the page shows the sign-in again with the reason
  expect401 = true;
  await check('a wrong token shows the sign-in again', async () => {
    await page.fill('#token', BAD);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#login-error:not([hidden])', { state: 'visible' });
    const msg = await page.textContent('#login-error');
    const appHidden = await page.$eval('#app', (e) => e.hidden);
    if (!/401/.test(msg) || !appHidden) throw new Error(`login error '${msg}', app hidden ${appHidden}`);
    return (await page.evaluate(() => sessionStorage.getItem('cratis.token'))) === null;
  });
  expect401 = false;

  await check('the right token signs in', async () => {
    await page.fill('#token', TOKEN);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#app', { state: 'visible' });
    return (await page.evaluate(() => sessionStorage.getItem('cratis.token'))) === TOKEN;
  });
  await check('the event stream is live', () => page.waitForSelector('#stream-status[data-state="live"]'));
  // gone if the page were loaded again: the updates below must come without a reload
  await page.evaluate(() => { window.cratisMarker = 'same page'; });

  await check(`the CLI's deployment ${DEP1} is listed with its result`, async () => {
    await page.waitForSelector(`${row(DEP1)}[data-result="succeeded"]`);
    const res = await page.textContent(`${row(DEP1)} td[data-col="result"]`);
    const envName = await page.textContent(`${row(DEP1)} td[data-col="environment"]`);
    const id = await page.textContent(`${row(DEP1)} td[data-col="id"]`);
    return res === 'succeeded' && envName === ENV && id === DEP1;
  });
  await check('the project and its environment are shown', () =>
    page.waitForSelector(`#projects li[data-project="${PROJECT}"] .env[data-env="${ENV}"]`));
  await check('opening a deployment shows its steps', async () => {
    await page.click(row(DEP1));
    await page.waitForSelector(`#deployment-detail[data-deployment-id="${DEP1}"] tr[data-step="Task/a"]`);
    return (await page.textContent('#deployment-detail tr[data-step="Task/a"] td[data-col="result"]')) === 'ok';
  });
  await check('no experiments (the route answers 404 or [])', async () =>
    (await page.waitForSelector('#experiments .body .empty')) && /no experiments/.test(await page.textContent('#experiments .body')));
  await check('no teams (the route answers 404 or [])', async () =>
    (await page.waitForSelector('#teams .body .empty')) && /no teams/.test(await page.textContent('#teams .body')));
  // a team and its namespace made through the API (the routes of src/server/teams.c) show without
  // a reload: the view follows dev.cratis.team.* and dev.cratis.namespace.* events
  await check('a team and a namespace created through the API show without a reload', async () => {
    const post = async (p, body) => {
      const r = await fetch(`${URL}${p}`, { method: 'POST', body: JSON.stringify(body),
        headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' } });
      if (r.status !== 201) throw new Error(`POST ${p}: HTTP ${r.status}: ${await r.text()}`);
    };
    await post('/v1/environments', { name: ENV, description: 'the staging master record' });
    await post('/v1/teams', { name: 'search', description: 'the search team', members: [{ subject: 'carol', role: 'owner' }] });
    await post('/v1/teams/search/namespaces', { environment: ENV, name: 'web', quota: { cpu: '1', memory: '512Mi', services: 2 } });
    await page.waitForSelector('#teams .team[data-team="search"] tr[data-namespace="web"]');
    const meta = await page.textContent('#teams .team[data-team="search"]');
    if (!/carol \(owner\)/.test(meta)) throw new Error(`members not shown: ${meta}`);
    return /services: 2/.test(await page.textContent('#teams .team[data-team="search"] tr[data-namespace="web"] td[data-col="quota"]'));
  });
  // the Rollout: v1 active, v2 in preview; promoted through the API while the page is open
  const RP = process.env.ROLLOUT_PROJECT, RO = process.env.ROLLOUT;
  const ACTIVE = process.env.ACTIVE, PREVIEW = process.env.PREVIEW;
  const ro = `#rollouts .rollout[data-rollout="${RO}"]`;
  const rel = (r, s) => `${ro} tr[data-release="${r}"][data-status="${s}"]`;
  if (RP) {
    await check(`the rollout shows ${ACTIVE} active and ${PREVIEW} in preview`, async () => {
      await page.waitForSelector(rel(ACTIVE, 'active'));
      await page.waitForSelector(rel(PREVIEW, 'preview'));
      return /active: \S+ · preview: \S+/.test(await page.textContent(`${ro} .meta`));
    });
    let tp = 0;
    await check('promote through the API', async () => {
      tp = Date.now();
      const r = await fetch(`${URL}/v1/projects/${RP}/environments/${ENV}/rollouts/${RO}/promote`, { // 202: the switch runs on a worker; the page follows the events
        method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` } });
      if (r.status !== 202) throw new Error(`HTTP ${r.status}: ${await r.text()}`);
    });
    await check(`the page shows ${PREVIEW} active and ${ACTIVE} hot previous without a reload`, async () => {
      await page.waitForSelector(rel(PREVIEW, 'active'));
      await page.waitForSelector(rel(ACTIVE, 'previous'));
      console.log(`note - the promote shown ${Date.now() - tp} ms after its POST was sent (not asserted)`);
      const label = await page.textContent(`${rel(ACTIVE, 'previous')} td[data-col="status"]`);
      if (label !== 'previous (hot)') throw new Error(`status label '${label}'`);
      return (await page.evaluate(() => window.cratisMarker)) === 'same page';
    });
  } else {
    await check('no rollouts in a project without one', async () => {
      await page.waitForFunction(() => /no rollouts/.test(document.querySelector('#rollouts .body').textContent));
    });
  }

  // a deployment through the API while the page is open: it appears without a reload (SSE)
  let dep2 = null, t0 = 0;
  await check('a deployment through the API is accepted', async () => {
    t0 = Date.now();
    const r = await fetch(`${URL}/v1/projects/${PROJECT}/deployments`, {
      method: 'POST', headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ env: ENV }),
    });
    const body = await r.json();
    dep2 = body.id;
    if (r.status !== 202) throw new Error(`HTTP ${r.status}: ${JSON.stringify(body)}`);
  });
  await check(`deployment ${dep2} appears, finished, without a reload`, async () => {
    await page.waitForSelector(`${row(dep2)}[data-result="succeeded"]`);
    console.log(`note - deployment ${dep2} shown as succeeded ${Date.now() - t0} ms after its POST (not asserted)`);
    const first = await page.$eval('#deployments tbody tr', (tr) => tr.dataset.deploymentId);
    if (first !== String(dep2)) throw new Error(`the newest row is ${first}`);
    return (await page.evaluate(() => window.cratisMarker)) === 'same page';
  });
  await check('the opened deployment stays open across the update', () =>
    page.waitForSelector(`#deployment-detail[data-deployment-id="${DEP1}"]:not([hidden])`));

  // the server restarts while the page is open: the stream reconnects with Last-Event-ID and a
  // rollback made through the new server shows without a reload
  if (process.env.SERVER_PID && RP) {
    const lastEventIds = [];
    page.on('request', (r) => {
      if (r.url().startsWith(`${URL}/v1/events/stream`)) lastEventIds.push(r.headers()['last-event-id'] || null);
    });
    const fin = await (await fetch(`${URL}/v1/events?type=dev.cratis.deployment.finished&since=0`,
      { headers: { Authorization: `Bearer ${TOKEN}` } })).json();
    const finSeq = Math.max(...fin.map((e) => e.seq));
    expectRefused = true;
    process.kill(Number(process.env.SERVER_PID), 'SIGTERM');
    await check('the page says it reconnects when the server goes away', () =>
      page.waitForSelector('#stream-status[data-state="connecting"]'));
    // the new server on the same port (it exits 1 while the old one still holds the address)
    const port = new globalThis.URL(URL).port;
    let srv = null;
    await check('the server starts again on the same port', async () => {
      const policy = process.env.POLICY ? ['--policy', process.env.POLICY] : [];
      for (let i = 0; i < 300 && !srv; i++) {
        const p = spawn(process.env.CRATIS, ['serve', '--state-dir', process.env.STATE_DIR, '--listen', `127.0.0.1:${port}`, ...policy],
          { stdio: ['ignore', 'ignore', 'pipe'] });
        // it says "listening on" once it accepts, or exits (1 while the address is taken)
        const rc = await new Promise((res) => {
          let said = '';
          const t = setTimeout(() => { p.kill('SIGKILL'); res('no answer'); }, WAIT);
          p.stderr.on('data', (d) => {
            fs.appendFileSync(process.env.SERVER_LOG, d);
            said += d;
            if (/listening on http:\/\//.test(said)) { clearTimeout(t); res('listening'); }
          });
          p.on('exit', (code) => { clearTimeout(t); res(code); });
        });
        if (rc === 'listening') srv = p;
        else if (rc === 'no answer') throw new Error('the server neither listens nor exits');
        else await new Promise((res) => setTimeout(res, 200));
      }
      if (!srv) throw new Error('it does not start');
      process.on('exit', () => { try { srv.kill('SIGKILL'); } catch (e) { /* gone */ } });
    });
    await check('the stream is live again', () => page.waitForSelector('#stream-status[data-state="live"]'));
    expectRefused = false;
    await check('the page reconnected with Last-Event-ID (the last event it had seen)', () => {
      const resumed = lastEventIds.filter((x) => x !== null).map(Number);
      if (!resumed.length) throw new Error(`stream requests sent ${JSON.stringify(lastEventIds)}`);
      if (!resumed.every((x) => x >= finSeq)) throw new Error(`Last-Event-ID ${resumed} before seq ${finSeq}`);
    });
    await check('a rollback through the restarted server shows without a reload', async () => {
      const r = await fetch(`${URL}/v1/projects/${RP}/environments/${ENV}/rollouts/${RO}/rollback`, { // 202, as the promote
        method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` } });
      if (r.status !== 202) throw new Error(`HTTP ${r.status}: ${await r.text()}`);
      await page.waitForSelector(rel(ACTIVE, 'active'));
      const marker = await page.evaluate(() => window.cratisMarker);
      if (marker !== 'same page') throw new Error(`the page was loaded again (marker ${marker})`);
    });
    await check('the deployments load again after the restart', () => page.waitForSelector(`${row(DEP1)}[data-result="succeeded"]`));
    process.env.RESTARTED = '1';
    globalThis.restartedServer = srv;
  }

  await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });
  ok(`screenshot ${path.join(ARTIFACTS, 'dashboard.png')}`);

  // experiments and teams from fixtures (Playwright answers those routes): the chart is drawn
  const seenAuth = [];
  const fixture = (body) => async (route) => {
    seenAuth.push(route.request().headers().authorization);
    await route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(body) });
  };
  await page.route(/\/v1\/experiments$/, fixture([{ project: PROJECT, environment: ENV, name: EXPERIMENT.name,
    status: EXPERIMENT.status, verdict: EXPERIMENT.verdict, winner: null, updated: EXPERIMENT.updated }]));
  await page.route(/\/v1\/projects\/[^/]+\/environments\/[^/]+\/experiments\/[^/]+$/, fixture(EXPERIMENT));
  await page.route(/\/v1\/teams$/, fixture(TEAMS));
  await page.route(/\/v1\/teams\/[^/]+\/namespaces$/, fixture(NAMESPACES));
  await check('a reload keeps the session (sessionStorage)', async () => {
    await page.reload();
    await page.waitForSelector('#app', { state: 'visible' });
    return page.$eval('#login', (e) => e.hidden);
  });
  await check('the experiment chart is an SVG with a line and a band per variant', async () => {
    await page.waitForSelector('#experiments .experiment[data-experiment="checkout-button"] svg.chart');
    const shape = await page.$eval('#experiments svg.chart', (s) => ({
      lines: [...s.querySelectorAll('polyline.line')].map((l) => [l.dataset.variant, l.getAttribute('points').trim().split(/\s+/).length]),
      bands: [...s.querySelectorAll('polygon.band')].map((b) => [b.dataset.variant, b.getAttribute('points').trim().split(/\s+/).length]),
    }));
    const want = JSON.stringify({ lines: [['blue', 3], ['green', 3]], bands: [['blue', 6], ['green', 6]] });
    if (JSON.stringify(shape) !== want) throw new Error(`chart ${JSON.stringify(shape)}, expected ${want}`);
  });
  await check('the band encloses the line (interval drawn around the value)', async () => {
    const inside = await page.$eval('#experiments svg.chart', (s) => {
      const ys = (el) => el.getAttribute('points').trim().split(/\s+/).map((p) => Number(p.split(',')[1]));
      return [...s.querySelectorAll('polyline.line')].every((l) => {
        const b = ys(s.querySelector(`polygon.band[data-variant="${l.dataset.variant}"]`));
        const n = b.length / 2, hi = b.slice(0, n), lo = b.slice(n).reverse();
        return ys(l).every((y, i) => y >= hi[i] && y <= lo[i]); // SVG y grows downwards
      });
    });
    return inside;
  });
  await check('the teams view lists the namespaces with quota and usage', async () => {
    await page.waitForSelector('#teams .team[data-team="payments"] tr[data-namespace="payments-staging"]');
    return /cpu: 2/.test(await page.textContent('#teams tr[data-namespace="payments-staging"] td[data-col="quota"]'));
  });
  await check('every fixture request carried the bearer token', () =>
    seenAuth.length >= 4 && seenAuth.every((a) => a === `Bearer ${TOKEN}`));
  await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-experiment.png'), fullPage: true });
  ok(`screenshot ${path.join(ARTIFACTS, 'dashboard-experiment.png')}`);

  await check('signing out shows the sign-in and forgets the token', async () => {
    await page.click('#logout');
    await page.waitForSelector('#login-form', { state: 'visible' });
    return (await page.evaluate(() => sessionStorage.getItem('cratis.token'))) === null;
  });

  // a role the policy denies the events and the rollouts: the page says so and shows the rest
  if (process.env.VIEWER_TOKEN) {
    expect403 = true;
    await check('a viewer signs in', async () => {
      await page.fill('#token', process.env.VIEWER_TOKEN);
      await page.click('#login-form button[type=submit]');
      await page.waitForSelector('#app', { state: 'visible' });
    });
    await check('without the events, the page says there are no live updates (403)', async () => {
      await page.waitForSelector('#stream-status[data-state="unavailable"]');
      return /403/.test(await page.textContent('#stream-status'));
    });
    await check('the deployments still load', () => page.waitForSelector(`${row(DEP1)}[data-result="succeeded"]`));
    if (RP)
      await check('the rollouts view shows the denial', async () => {
        await page.waitForSelector(`${ro} p.error`);
        return /may not get rollouts/.test(await page.textContent(`${ro} p.error`));
      });
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-viewer.png'), fullPage: true });
    await page.click('#logout');
    await page.waitForSelector('#login-form', { state: 'visible' });
    expect403 = false;
  }

  if (errors.length) for (const e of errors) fail(`console error: ${e}`);
  else ok('no console errors');
  await browser.close();
  if (globalThis.restartedServer) {   // the server this script started: stopped as the test's was
    const srv = globalThis.restartedServer;
    const rc = await new Promise((res) => { srv.on('exit', (code) => res(code)); srv.kill('SIGTERM'); });
    if (rc === 0) ok('the restarted server shuts down (exit 0)'); else fail(`the restarted server exited ${rc}`);
  }
  process.exit(failed ? 1 : 0);
})().catch((e) => {
  console.log(`FAIL - ${String(e.stack || e).split('\n').slice(0, 3).join(' | ')}`);
  process.exit(1);
});
