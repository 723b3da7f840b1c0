// Check a directory written by `cratis render` without a cloud (tests/e2e/render.sh):
// every .tf file parses (HCL, @cdktf/hcl2json); every module call supplies each variable of its
// module that has no default and nothing the module does not declare; every module.X.Y
// referenced in the root module is a module call X with an output Y; every module source exists.
// Prints one line per problem and exits 1 when there is any; prints "ok N files" otherwise.
'use strict';
const fs = require('fs');
const path = require('path');
const hcl = require('@cdktf/hcl2json');

async function parseDir(dir) {
  const out = {};
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.tf')).sort()) {
    const text = fs.readFileSync(path.join(dir, f), 'utf8');
    out[f] = { json: await hcl.parse(f, text), text };
  }
  return out;
}

function walkTf(dir, acc) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walkTf(p, acc);
    else if (e.name.endsWith('.tf')) acc.push(p);
  }
  return acc;
}

async function main() {
  const root = process.argv[2];
  const problems = [];
  let files = 0;
  for (const f of walkTf(root, [])) {
    files++;
    try {
      await hcl.parse(path.basename(f), fs.readFileSync(f, 'utf8'));
    } catch (e) {
      problems.push(`${f}: does not parse: ${e.message || e}`);
    }
  }
  if (problems.length) {
    problems.forEach((p) => console.log(p));
    process.exit(1);
  }
  const top = await parseDir(root);
  const calls = {};
  for (const f of Object.values(top))
    for (const [name, blocks] of Object.entries(f.json.module || {})) calls[name] = blocks[0];
  const outputsOf = {};
  for (const [name, call] of Object.entries(calls)) {
    const dir = path.join(root, call.source);
    if (!fs.existsSync(dir)) {
      problems.push(`module ${name}: source ${call.source} does not exist`);
      continue;
    }
    const mod = await parseDir(dir);
    const vars = {};
    const outs = new Set();
    for (const f of Object.values(mod)) {
      for (const [v, b] of Object.entries(f.json.variable || {})) vars[v] = b[0];
      for (const o of Object.keys(f.json.output || {})) outs.add(o);
    }
    outputsOf[name] = outs;
    for (const [v, def] of Object.entries(vars))
      if (!(v in call) && !('default' in def)) problems.push(`module ${name}: input '${v}' (no default) is not supplied`);
    for (const a of Object.keys(call))
      if (a !== 'source' && !(a in vars)) problems.push(`module ${name}: '${a}' is not a variable of ${call.source}`);
    for (const [v, def] of Object.entries(vars)) {
      if (!(v in call) || typeof def.type !== 'string') continue;
      const t = def.type.replace(/^\$\{|\}$/g, '');
      const val = call[v];
      const ref = typeof val === 'string' && /^\$\{[^}]*\}$/.test(val);
      const ok = ref || (t === 'string' && typeof val === 'string') || (t === 'number' && typeof val === 'number') ||
        (t === 'bool' && typeof val === 'boolean') || (t.startsWith('map(') && typeof val === 'object' && !Array.isArray(val));
      if (!ok) problems.push(`module ${name}: input '${v}' is ${JSON.stringify(val)}, not of type ${t}`);
    }
  }
  for (const [f, { text }] of Object.entries(top))
    for (const m of text.matchAll(/module\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)/g)) {
      if (!calls[m[1]]) problems.push(`${f}: module.${m[1]} is not a module call`);
      else if (outputsOf[m[1]] && !outputsOf[m[1]].has(m[2])) problems.push(`${f}: module ${m[1]} has no output '${m[2]}'`);
    }
  problems.forEach((p) => console.log(p));
  if (problems.length) process.exit(1);
  console.log(`ok ${files} files, ${Object.keys(calls).length} module calls`);
}

main().catch((e) => { console.log(String(e)); process.exit(1); });
