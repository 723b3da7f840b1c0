// The cratis dashboard (docs/server.md "Dashboard"): plain JavaScript over the /v1 API of
// `cratis serve`. The page is public; every request carries the bearer token the user typed
// (kept in sessionStorage: this tab only) and a 401 shows the sign-in again. Live updates come
// from /v1/events/stream read with fetch() (EventSource cannot send an Authorization header).
// Everything is written with textContent / DOM nodes, never innerHTML: the data is not trusted.
'use strict';

(function () {
  const TOKEN_KEY = 'cratis.token';
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const MAX_DEPLOYMENTS = 200;   // rows in the deployments table (newest first)
  const COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];

  const state = {
    token: null,
    stream: null,        // AbortController of the event stream
    lastEventId: null,   // the seq of the last event seen (Last-Event-ID on reconnect)
    retryMs: 1000,
    openDeployment: null,
    refreshTimers: {},
    loading: {},         // view -> a load is running
    again: {},           // view -> refresh once the running load is done
    generation: 0,       // bumped on sign-out: late answers of an old session are dropped
  };

  class AuthError extends Error {}
  class Stale extends Error {}   // the answer of a session that was signed out since

  const $ = (sel) => document.querySelector(sel);

  // el('td', {class: 'x', dataset: {id: 1}}, 'text', child...)
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null) continue;
      if (k === 'dataset') Object.assign(e.dataset, v);
      else if (k === 'class') e.className = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const c of children) {
      if (c === undefined || c === null) continue;
      e.append(c instanceof Node ? c : String(c));
    }
    return e;
  }

  function svg(tag, attrs, ...children) {
    const e = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'dataset') Object.assign(e.dataset, v);
      else e.setAttribute(k, String(v));
    }
    for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  }

  function empty(text) {
    return el('p', { class: 'empty' }, text);
  }

  function fmt(v) {
    if (v === null || v === undefined || v === '') return '–';
    if (typeof v === 'object') {
      if (Array.isArray(v)) return v.map(fmt).join(', ');
      return Object.entries(v).map(([k, x]) => `${k}: ${fmt(x)}`).join(', ');
    }
    if (typeof v === 'number' && !Number.isInteger(v)) return String(Math.round(v * 1000) / 1000);
    return String(v);
  }

  function table(columns, rows, rowAttrs) {
    const head = el('tr', null, ...columns.map((c) => el('th', null, c.title)));
    const body = rows.map((r, i) => el('tr', rowAttrs ? rowAttrs(r, i) : null,
      ...columns.map((c) => {
        const v = c.value(r);
        const cls = [c.mono ? 'mono' : '', c.cls ? c.cls(r) : ''].filter(Boolean).join(' ');
        return el('td', { class: cls || null, dataset: { col: c.key } }, v instanceof Node ? v : fmt(v));
      })));
    return el('table', null, el('thead', null, head), el('tbody', null, ...body));
  }

  function setBody(id, ...nodes) {
    const body = $(`#${id} .body`);
    body.replaceChildren(...nodes.filter((n) => n !== null && n !== undefined));
  }

  // ---- the API ----

  // GET path: {status, data}; 404 and 403 are answers (the view says so); 401 throws AuthError
  async function api(path, opts) {
    const gen = state.generation;
    const res = await fetch(path, Object.assign({
      headers: { Authorization: `Bearer ${state.token}`, Accept: 'application/json' },
      cache: 'no-store',
    }, opts || {}));
    if (gen !== state.generation) throw new Stale('signed out');
    if (res.status === 401) throw new AuthError('the server refused the token (401)');
    let data = null;
    const ctype = res.headers.get('Content-Type') || '';
    if (ctype.includes('json')) data = await res.json();
    else await res.text();
    return { status: res.status, data };
  }

  function problemText(r) {
    return (r.data && (r.data.detail || r.data.title)) || `HTTP ${r.status}`;
  }

  // run a view's loader; a 401 signs out, anything else is shown in the view
  async function guarded(id, fn) {
    try {
      await fn();
    } catch (e) {
      if (e instanceof Stale) return;
      if (e instanceof AuthError) return signedOut(e.message);
      setBody(id, el('p', { class: 'error' }, `cannot load: ${e.message}`));
    }
  }

  // ---- projects and environments ----

  async function loadProjects() {
    const r = await api('/v1/projects');
    if (r.status !== 200) return setBody('projects', el('p', { class: 'error' }, problemText(r)));
    if (!r.data.length) return setBody('projects', empty('no projects registered (POST /v1/projects)'));
    const items = await Promise.all(r.data.map(async (p) => {
      const e = await api(`/v1/projects/${encodeURIComponent(p.name)}/environments`);
      const envs = e.status === 200
        ? e.data.map((env) => el('span', { class: 'env', dataset: { env: env.name } }, env.name,
            env.systems && env.systems.length ? el('span', { class: 'meta' }, ` · ${env.systems.join(', ')}`) : null))
        : [el('span', { class: 'error' }, problemText(e))];
      return el('li', { dataset: { project: p.name } },
        el('strong', null, p.name), ' ', el('span', { class: 'meta mono' }, p.path), el('div', null, ...envs));
    }));
    setBody('projects', el('ul', { class: 'projects' }, ...items));
    return r.data;
  }

  // ---- deployments ----

  async function loadDeployments() {
    const r = await api('/v1/deployments');
    if (r.status !== 200) return setBody('deployments', el('p', { class: 'error' }, problemText(r)));
    if (!r.data.length) return setBody('deployments', empty('no deployments yet'));
    const shown = r.data.slice(0, MAX_DEPLOYMENTS);
    const t = table([
      { key: 'id', title: 'id', value: (d) => d.id },
      { key: 'environment', title: 'environment', value: (d) => d.environment },
      { key: 'result', title: 'result', value: (d) => d.result, cls: (d) => `result-${d.result}` },
      { key: 'started', title: 'started', value: (d) => d.started, mono: true },
      { key: 'finished', title: 'finished', value: (d) => d.finished, mono: true },
      { key: 'summary', title: 'summary', value: (d) => d.summary },
      { key: 'command', title: 'by', value: (d) => `${d.user || ''}@${d.host || ''}${d.command ? `: ${d.command}` : ''}`, mono: true },
    ], shown, (d) => ({
      class: `clickable${state.openDeployment === d.id ? ' selected' : ''}`,
      dataset: { deploymentId: d.id, result: d.result },
      tabindex: 0,
      onclick: () => openDeployment(d.id),
      onkeydown: (ev) => { if (ev.key === 'Enter') openDeployment(d.id); },
    }));
    setBody('deployments', t, r.data.length > shown.length
      ? el('p', { class: 'meta' }, `the newest ${shown.length} of ${r.data.length} (cratis history lists them all)`) : null);
  }

  async function openDeployment(id) {
    state.openDeployment = id;
    for (const tr of document.querySelectorAll('#deployments tr[data-deployment-id]'))
      tr.classList.toggle('selected', Number(tr.dataset.deploymentId) === id);
    await guarded('deployments', loadDeploymentDetail);
  }

  async function loadDeploymentDetail() {
    const id = state.openDeployment;
    const box = $('#deployment-detail');
    if (id === null) { box.hidden = true; return; }
    const r = await api(`/v1/deployments/${id}`);
    if (id !== state.openDeployment) return;
    box.hidden = false;
    if (r.status !== 200) return box.replaceChildren(el('p', { class: 'error' }, problemText(r)));
    const d = r.data;
    const steps = d.steps && d.steps.length ? table([
      { key: 'resource', title: 'resource', value: (s) => s.resource, mono: true },
      { key: 'action', title: 'action', value: (s) => s.action },
      { key: 'result', title: 'result', value: (s) => s.result, cls: (s) => `result-${s.result}` },
      { key: 'started', title: 'started', value: (s) => s.started, mono: true },
      { key: 'finished', title: 'finished', value: (s) => s.finished, mono: true },
      { key: 'message', title: 'message', value: (s) => s.message },
    ], d.steps, (s) => ({ dataset: { step: s.resource } })) : empty('no steps recorded');
    box.replaceChildren(
      el('h3', null, `Deployment ${d.id} · ${d.environment} · `, el('span', { class: `result-${d.result}` }, d.result)),
      el('p', { class: 'meta' }, d.summary || '', ' — ', el('span', { class: 'mono' }, d.command || '')),
      steps,
      el('button', { type: 'button', onclick: () => { state.openDeployment = null; loadDeploymentDetail(); } }, 'Close'));
    box.dataset.deploymentId = d.id;
  }

  // ---- rollouts ----

  const releaseLabel = (s) => (s === 'previous' ? 'previous (hot)' : s);

  async function loadRollouts() {
    const p = await api('/v1/projects');
    if (p.status !== 200) return setBody('rollouts', el('p', { class: 'error' }, problemText(p)));
    const blocks = [];
    for (const proj of p.data) {
      const pn = encodeURIComponent(proj.name);
      const envs = await api(`/v1/projects/${pn}/environments`);
      if (envs.status !== 200) continue;
      for (const env of envs.data) {
        const en = encodeURIComponent(env.name);
        const res = await api(`/v1/projects/${pn}/environments/${en}/resources`);
        if (res.status !== 200) continue;
        for (const rs of res.data.filter((x) => String(x.id).startsWith('Rollout/'))) {
          const name = rs.id.slice('Rollout/'.length);
          const ro = await api(`/v1/projects/${pn}/environments/${en}/rollouts/${encodeURIComponent(name)}`);
          const head = el('h3', null, `${proj.name} / ${env.name} / ${name}`);
          if (ro.status !== 200) {
            blocks.push(el('div', { class: 'rollout', dataset: { rollout: name, environment: env.name } }, head,
              el('p', { class: 'error' }, problemText(ro))));
            continue;
          }
          const rels = (ro.data.releases || []).filter((x) => x.live);
          const active = rels.find((x) => x.status === 'active');
          const preview = rels.find((x) => x.status === 'preview');
          blocks.push(el('div', { class: 'rollout', dataset: { rollout: name, environment: env.name } }, head,
            el('p', { class: 'meta' }, `active: ${active ? active.release : '–'} · preview: ${preview ? preview.release : '–'}`
              + ` · hot previous: ${rels.filter((x) => x.status === 'previous').map((x) => x.release).join(', ') || '–'}`),
            rels.length ? table([
              { key: 'release', title: 'release', value: (x) => x.release, mono: true },
              { key: 'status', title: 'status', value: (x) => releaseLabel(x.status), cls: (x) => `status-${x.status}` },
              { key: 'colour', title: 'colour', value: (x) => x.colour },
              { key: 'health', title: 'health', value: (x) => x.health, cls: (x) => `health-${x.health}` },
              { key: 'port', title: 'port', value: (x) => x.port },
              { key: 'stage', title: 'stage', value: (x) => x.stage },
              { key: 'updated', title: 'updated', value: (x) => x.updated, mono: true },
            ], rels, (x) => ({ dataset: { release: x.release, status: x.status } })) : empty('no live release')));
        }
      }
    }
    setBody('rollouts', ...(blocks.length ? blocks : [empty('no rollouts')]));
  }

  // ---- experiments ----

  // an inline SVG chart of each variant's objective value over time, with its interval band
  function experimentChart(history) {
    const W = 720, H = 240, L = 56, R = 16, T = 12, B = 34;
    const names = [];
    for (const h of history) for (const v of h.variants || []) if (!names.includes(v.name)) names.push(v.name);
    const xs = history.map((h) => Number(h.elapsedSeconds)).filter(Number.isFinite);
    const ys = [];
    for (const h of history) for (const v of h.variants || [])
      for (const y of [v.value, v.ciLow, v.ciHigh]) if (Number.isFinite(y)) ys.push(y);
    if (!xs.length || !ys.length) return empty('no measurements yet');
    let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
    let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
    if (x0 === x1) { x0 -= 1; x1 += 1; }
    if (y0 === y1) { const d = Math.abs(y0) * 0.1 || 1; y0 -= d; y1 += d; }
    const pad = (y1 - y0) * 0.05; y0 -= pad; y1 += pad;
    const sx = (x) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
    const sy = (y) => T + (1 - (y - y0) / (y1 - y0)) * (H - T - B);
    const g = svg('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img',
      'aria-label': `objective value of ${names.join(', ')} over time` });
    for (let i = 0; i <= 4; i++) {
      const y = y0 + ((y1 - y0) * i) / 4;
      g.append(svg('line', { class: 'grid', x1: L, x2: W - R, y1: sy(y), y2: sy(y) }),
        svg('text', { x: L - 6, y: sy(y) + 4, 'text-anchor': 'end' }, fmt(y)));
    }
    g.append(svg('line', { class: 'axis', x1: L, x2: L, y1: T, y2: H - B }),
      svg('line', { class: 'axis', x1: L, x2: W - R, y1: H - B, y2: H - B }),
      svg('text', { x: L, y: H - B + 16, 'text-anchor': 'start' }, `${fmt(x0)} s`),
      svg('text', { x: W - R, y: H - B + 16, 'text-anchor': 'end' }, `${fmt(x1)} s`),
      svg('text', { x: (L + W - R) / 2, y: H - 4, 'text-anchor': 'middle' }, 'elapsed seconds'));
    names.forEach((name, i) => {
      const colour = COLOURS[i % COLOURS.length];
      const pts = [];
      for (const h of history) {
        const v = (h.variants || []).find((x) => x.name === name);
        const x = Number(h.elapsedSeconds);
        if (v && Number.isFinite(x) && Number.isFinite(v.value)) pts.push({ x, v });
      }
      const band = pts.filter((p) => Number.isFinite(p.v.ciLow) && Number.isFinite(p.v.ciHigh));
      if (band.length) {
        const up = band.map((p) => `${sx(p.x).toFixed(1)},${sy(p.v.ciHigh).toFixed(1)}`);
        const down = band.slice().reverse().map((p) => `${sx(p.x).toFixed(1)},${sy(p.v.ciLow).toFixed(1)}`);
        g.append(svg('polygon', { class: 'band', fill: colour, points: up.concat(down).join(' '),
          dataset: { variant: name } }));
      }
      if (pts.length) {
        g.append(svg('polyline', { class: 'line', stroke: colour, dataset: { variant: name },
          points: pts.map((p) => `${sx(p.x).toFixed(1)},${sy(p.v.value).toFixed(1)}`).join(' ') }));
        for (const p of pts)
          g.append(svg('circle', { cx: sx(p.x).toFixed(1), cy: sy(p.v.value).toFixed(1), r: 2.5, fill: colour },
            svg('title', null, `${name} at ${fmt(p.x)} s: ${fmt(p.v.value)} [${fmt(p.v.ciLow)}, ${fmt(p.v.ciHigh)}]`
              + (p.v.exposures !== undefined ? `, ${p.v.exposures} exposures` : ''))));
      }
    });
    const legend = el('div', { class: 'legend' }, ...names.map((n, i) =>
      el('span', { dataset: { variant: n } }, el('span', { class: `swatch c${i % COLOURS.length}` }), n)));
    return el('div', { class: 'chart-box' }, g, legend);
  }

  async function loadExperiments() {
    const r = await api('/v1/experiments');
    if (r.status === 404 || (r.status === 200 && Array.isArray(r.data) && !r.data.length))
      return setBody('experiments', empty('no experiments'));
    if (r.status !== 200) return setBody('experiments', el('p', { class: 'error' }, problemText(r)));
    const blocks = await Promise.all(r.data.map(async (x) => {
      const path = `/v1/projects/${encodeURIComponent(x.project)}/environments/${encodeURIComponent(x.environment)}`
        + `/experiments/${encodeURIComponent(x.name)}`;
      const d = await api(path);
      const head = el('h3', null, `${x.project} / ${x.environment} / ${x.name}`);
      const base = el('p', { class: 'meta' }, `status: ${fmt(x.status)} · verdict: ${fmt(x.verdict)} · winner: ${fmt(x.winner)}`
        + ` · updated: ${fmt(x.updated)}`);
      if (d.status !== 200)
        return el('div', { class: 'experiment', dataset: { experiment: x.name } }, head, base,
          el('p', { class: 'error' }, problemText(d)));
      const e = d.data;
      return el('div', { class: 'experiment', dataset: { experiment: x.name, status: fmt(e.status) } }, head,
        el('p', { class: 'meta' }, `status: ${fmt(e.status)} · verdict: ${fmt(e.verdict)} · winner: ${fmt(e.winner)}`
          + ` · control: ${fmt(e.control)} · started: ${fmt(e.started)} · elapsed: ${fmt(e.elapsedSeconds)} s`),
        // the real document's result is the decision's whole state (decide_result_to_json): its
        // reasons and message say it in words
        Array.isArray(e.reasons) && e.reasons.length ? el('p', { class: 'reasons' }, e.reasons.join(' · ')) : null,
        e.message ? el('p', { class: 'meta' }, String(e.message)) : null,
        Array.isArray(e.history) && e.history.length ? experimentChart(e.history) : empty('no measurements yet'));
    }));
    setBody('experiments', ...blocks);
  }

  // ---- teams and namespaces ----

  async function loadTeams() {
    const r = await api('/v1/teams');
    if (r.status === 404 || (r.status === 200 && Array.isArray(r.data) && !r.data.length))
      return setBody('teams', empty('no teams'));
    if (r.status !== 200) return setBody('teams', el('p', { class: 'error' }, problemText(r)));
    const blocks = await Promise.all(r.data.map(async (t) => {
      const n = await api(`/v1/teams/${encodeURIComponent(t.name)}/namespaces`);
      let body;
      if (n.status === 404 || (n.status === 200 && !n.data.length)) body = empty('no namespaces');
      else if (n.status !== 200) body = el('p', { class: 'error' }, problemText(n));
      else body = table([
        { key: 'environment', title: 'environment', value: (x) => x.environment },
        { key: 'name', title: 'namespace', value: (x) => x.name },
        { key: 'quota', title: 'quota', value: (x) => x.quota },
        { key: 'usage', title: 'usage', value: (x) => x.usage },
      ], n.data, (x) => ({ dataset: { namespace: x.name } }));
      return el('div', { class: 'team', dataset: { team: t.name } },
        el('h3', null, t.name), t.description ? el('p', { class: 'meta' }, t.description) : null,
        el('p', { class: 'meta' }, `members: ${fmt((t.members || []).map((m) => (m && typeof m === 'object' ? `${m.subject} (${m.role})` : m)))}`), body);
    }));
    setBody('teams', ...blocks);
  }

  // ---- refreshing ----

  const VIEWS = {
    projects: loadProjects,
    deployments: async () => { await loadDeployments(); if (state.openDeployment !== null) await loadDeploymentDetail(); },
    rollouts: loadRollouts,
    experiments: loadExperiments,
    teams: loadTeams,
  };

  // load a view; one load of a view at a time (answers never land out of order), and a refresh
  // asked for meanwhile runs once the current load is done
  async function runView(view) {
    if (state.loading[view]) { state.again[view] = true; return; }
    const gen = state.generation;
    state.loading[view] = true;
    try {
      await guarded(view, VIEWS[view]);
    } finally {
      if (gen === state.generation) state.loading[view] = false;
    }
    if (gen === state.generation && state.again[view] && state.token) {
      state.again[view] = false;
      runView(view);
    }
  }

  // refresh a view soon; a burst of events makes one refresh
  function refresh(view) {
    if (state.refreshTimers[view]) return;
    state.refreshTimers[view] = setTimeout(() => {
      delete state.refreshTimers[view];
      if (state.token) runView(view);
    }, 150);
  }

  function refreshAll() {
    for (const v of Object.keys(VIEWS)) refresh(v);
  }

  function onEvent(type) {
    if (type.startsWith('dev.cratis.deployment.')) refresh('deployments');
    else if (type.startsWith('dev.cratis.resource.') && state.openDeployment !== null) refresh('deployments');
    if (type.startsWith('dev.cratis.rollout.') || type === 'dev.cratis.deployment.finished') refresh('rollouts');
    if (type.startsWith('dev.cratis.experiment.')) refresh('experiments');
    if (type.startsWith('dev.cratis.team.') || type.startsWith('dev.cratis.namespace.')) refresh('teams');
  }

  // ---- the event stream: Server-Sent Events over fetch() ----

  function streamStatus(s, text) {
    const b = $('#stream-status');
    b.dataset.state = s;
    b.textContent = text;
  }

  async function connect() {
    const ctl = new AbortController();
    state.stream = ctl;
    const headers = { Authorization: `Bearer ${state.token}`, Accept: 'text/event-stream' };
    if (state.lastEventId !== null) headers['Last-Event-ID'] = state.lastEventId;
    streamStatus('connecting', state.lastEventId === null ? 'connecting…' : 'reconnecting…');
    let first = true;
    // should the server not say where the stream starts, load the views all the same
    const fallback = setTimeout(() => { if (first && state.stream === ctl) refreshAll(); }, 3000);
    try {
      const res = await fetch('/v1/events/stream', { headers, signal: ctl.signal, cache: 'no-store' });
      if (res.status === 401) return signedOut('the server refused the token (401)');
      if ((!res.ok || !res.body) && res.status < 500) {
        await res.text();
        streamStatus('unavailable', `no live updates (HTTP ${res.status})`);
        refreshAll();
        return;   // a policy that denies events: the views still load, without live updates
      }
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);   // 5xx: try again
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      let ev = { id: null, type: 'message', data: [] };
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let nl;
        while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
          if (buf[nl] === '\r' && nl === buf.length - 1) break;   // a \r\n may be split: wait
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + (buf[nl] === '\r' && buf[nl + 1] === '\n' ? 2 : 1));
          if (line === '') {   // dispatch
            if (ev.id !== null) state.lastEventId = ev.id;
            if (ev.data.length) onEvent(ev.type);
            ev = { id: null, type: 'message', data: [] };
            continue;
          }
          if (line.startsWith(':')) {
            // ": cratis events after seq N": connected; everything after N arrives on the stream,
            // so the views are loaded now (and again after a reconnect)
            const m = /^: cratis events after seq (\d+)/.exec(line);
            if (m && first) {
              first = false;
              clearTimeout(fallback);
              if (state.lastEventId === null) state.lastEventId = m[1];
              streamStatus('live', 'live');
              refreshAll();
            }
            continue;
          }
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          let val = colon < 0 ? '' : line.slice(colon + 1);
          if (val.startsWith(' ')) val = val.slice(1);
          if (field === 'id') ev.id = val;
          else if (field === 'event') ev.type = val;
          else if (field === 'data') ev.data.push(val);
          else if (field === 'retry' && /^\d+$/.test(val)) state.retryMs = Number(val);
        }
      }
    } catch (e) {
      if (ctl.signal.aborted) return;
    }
    clearTimeout(fallback);
    if (ctl.signal.aborted || state.stream !== ctl) return;
    streamStatus('connecting', 'reconnecting…');
    setTimeout(() => { if (state.stream === ctl && state.token) connect(); }, state.retryMs);
  }

  // ---- signing in and out ----

  function showLogin(message) {
    $('#app').hidden = true;
    $('#logout').hidden = true;
    $('#who').textContent = '';
    $('#login').hidden = false;
    const err = $('#login-error');
    err.hidden = !message;
    err.textContent = message || '';
    streamStatus('off', 'offline');
    $('#token').value = '';
    $('#token').focus();
  }

  function stop() {
    state.generation++;
    if (state.stream) state.stream.abort();
    state.stream = null;
    state.lastEventId = null;
    state.openDeployment = null;
    for (const t of Object.values(state.refreshTimers)) clearTimeout(t);
    state.refreshTimers = {};
    state.loading = {};
    state.again = {};
  }

  function signedOut(message) {
    stop();
    state.token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin(message);
  }

  function start(token) {
    stop();
    state.token = token;
    sessionStorage.setItem(TOKEN_KEY, token);
    $('#login').hidden = true;
    $('#login-error').hidden = true;
    $('#app').hidden = false;
    $('#logout').hidden = false;
    const id = /^cratis_([^_]+)_/.exec(token);
    $('#who').textContent = id ? `token ${id[1]}` : '';
    for (const v of Object.keys(VIEWS)) setBody(v, empty('loading…'));
    $('#deployment-detail').hidden = true;
    connect();
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('#login-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const t = $('#token').value.trim();
      if (t) start(t);
    });
    $('#logout').addEventListener('click', () => signedOut(null));
    const saved = sessionStorage.getItem(TOKEN_KEY);
    if (saved) start(saved);
    else showLogin(null);
  });
})();
