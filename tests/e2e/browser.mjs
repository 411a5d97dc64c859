#!/usr/bin/env node
// The e2e tests' headless browser: runs the steps of a JSON script in one page of Debian's
// chromium, driven by playwright-core (ci/setup installs both; docs/testing.md, "Browser").
// Prints one JSON line per step on stdout; the first failing step ends the run with status 1
// and a message naming it on stderr (and a screenshot of the page as it was).
//
// Usage: node tests/e2e/browser.mjs SCRIPT.json      (SCRIPT "-" reads stdin)
// SCRIPT: {"options": {...}, "steps": [...]} or just the array of steps.
// options:
//   ca                  PEM file of a CA to trust for the server certificates (the VCH's ca.pem):
//                       put into a throwaway NSS database that this chromium alone reads
//   ignoreHTTPSErrors   accept any server certificate instead (true/false)
//   clientCertificate   {origin, cert, key} or a list of them (PEM files; origin
//                       "https://HOST:PORT"): presented to that origin whenever its server asks
//   viewport            {width, height}, default 1280x900
//   timeoutMs           default timeout of each step, default 10000
//   artifacts           where relative screenshot/download paths go: default $VIC_ARTIFACTS,
//                       else /var/tmp/vic-artifacts
// steps (each may also have "name", "timeoutMs", and "expectFailure": true or a substring of the
// error it must fail with, for the refusals a test wants to see):
//   {"goto": URL, "expectStatus": 200}        load a page; prints the HTTP status and final URL
//   {"fill": SELECTOR, "value": V}            type into an input
//   {"click": SELECTOR}                       click (a form's submit, a link)
//   {"waitFor": SELECTOR}                     until an element matches and is visible
//   {"waitForText": SELECTOR, "text": T}      until a matching element's text contains T
//   {"waitForURL": SUBSTRING}                 until the page's URL contains it
//   {"text": SELECTOR, "expect": T}           the first match's innerText (must contain T if given)
//   {"attrs": SELECTOR, "names": [A...]}      every match: {A: value..., text} (waits for one
//                                             match unless "min": 0)
//   {"screenshot": PATH}                      the full page as PNG
//   {"download": SELECTOR, "saveAs": PATH}    click a link that downloads; prints name, size, sha256
//   {"url": true, "expect": T}                the current URL
//   {"cookies": true}                         the context's cookies
// Selectors are playwright's: CSS by default, "text=..." and the others it knows.
// Environment: VIC_CHROMIUM (default /usr/bin/chromium, else /usr/bin/google-chrome), VIC_BROWSER_MODULES (where the
// node_modules holding playwright-core are; default $VIC_CACHE/npm/browser, as ci/setup puts it).

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

function die(msg) {
  process.stderr.write(`browser.mjs: ${msg}\n`);
  process.exit(2);
}

const scriptArg = process.argv[2];
if (!scriptArg || scriptArg === '-h' || scriptArg === '--help') {
  process.stderr.write('usage: node tests/e2e/browser.mjs SCRIPT.json  (the step format is at the top of this file)\n');
  process.exit(scriptArg ? 0 : 2);
}
let script;
try {
  script = JSON.parse(fs.readFileSync(scriptArg === '-' ? 0 : scriptArg, 'utf8'));
} catch (e) {
  die(`cannot read the script ${scriptArg}: ${e.message}`);
}
if (Array.isArray(script)) script = { steps: script };
const options = script.options ?? {};
const steps = script.steps;
if (!Array.isArray(steps)) die('the script has no "steps" list');

const clientCerts = options.clientCertificate == null ? []
  : Array.isArray(options.clientCertificate) ? options.clientCertificate : [options.clientCertificate];
for (const c of clientCerts) {
  if (!c.origin || !c.cert || !c.key) die('clientCertificate needs origin, cert and key');
  for (const f of [c.cert, c.key]) if (!fs.existsSync(f)) die(`clientCertificate: no file ${f}`);
}
const ca = options.ca ? path.resolve(options.ca) : null;
if (ca && !fs.existsSync(ca)) die(`ca: no file ${ca}`);

// With a client certificate, playwright's own proxy makes the TLS connection to that origin
// (and chromium accepts the proxy's certificate): the server's certificate is then checked by
// node, against its roots plus NODE_EXTRA_CA_CERTS, which node reads only as it starts.
if (ca && clientCerts.length && process.env.NODE_EXTRA_CA_CERTS !== ca) {
  const r = spawnSync(process.execPath, process.argv.slice(1),
    { stdio: ['inherit', 'inherit', 'inherit'], env: { ...process.env, NODE_EXTRA_CA_CERTS: ca } });
  if (r.error) die(`cannot run node again with NODE_EXTRA_CA_CERTS: ${r.error.message}`);
  process.exit(r.status ?? 1);
}

const modules = process.env.VIC_BROWSER_MODULES ??
  path.join(process.env.VIC_CACHE ?? '/var/cache/vic', 'npm/browser');
const entry = path.join(modules, 'node_modules/playwright-core/index.mjs');
if (!fs.existsSync(entry)) die(`no playwright-core at ${entry} (ci/setup installs it)`);
const { chromium } = await import(pathToFileURL(entry).href);
// Debian's chromium, else Google Chrome (what GitHub's Ubuntu runners have: Ubuntu's chromium
// package is a snap, ci/distro.sh leaves it out there).
const executablePath = process.env.VIC_CHROMIUM ??
  ['/usr/bin/chromium', '/usr/bin/google-chrome'].find((p) => fs.existsSync(p)) ?? '/usr/bin/chromium';
if (!fs.existsSync(executablePath)) die(`no chromium at ${executablePath} (ci/packages.txt installs it)`);

const artifacts = path.resolve(options.artifacts ?? process.env.VIC_ARTIFACTS ?? '/var/tmp/vic-artifacts');
const inArtifacts = (p) => (path.isAbsolute(p) ? p : path.join(artifacts, p));
const scriptName = scriptArg === '-' ? 'stdin' : path.basename(scriptArg).replace(/\.json$/, '');
const defaultTimeout = options.timeoutMs ?? 10000;

// Chromium's HOME: a throwaway directory, so that its NSS database ($HOME/.pki/nssdb) holds the
// CA we were told to trust and nothing of the user's. certutil is from libnss3-tools.
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'vic-browser-'));
function cleanup() { fs.rmSync(home, { recursive: true, force: true }); }
if (ca) {
  const db = path.join(home, '.pki/nssdb');
  fs.mkdirSync(db, { recursive: true });
  for (const args of [['-N', '-d', `sql:${db}`, '--empty-password'],
    ['-A', '-d', `sql:${db}`, '-n', 'vic test CA', '-t', 'C,,', '-i', ca]]) {
    const r = spawnSync('certutil', args, { encoding: 'utf8' });
    if (r.error || r.status !== 0) {
      cleanup();
      die(`certutil ${args[0]} failed (libnss3-tools): ${r.error?.message ?? r.stderr}`);
    }
  }
}

function escapeRegExp(s) { return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'); }
function sha256(file) { return createHash('sha256').update(fs.readFileSync(file)).digest('hex'); }
function need(cond, msg) { if (!cond) throw new Error(msg); }
function ensureDir(file) { fs.mkdirSync(path.dirname(file), { recursive: true }); }
const OPS = ['goto', 'fill', 'click', 'waitFor', 'waitForText', 'waitForURL', 'text', 'attrs', 'screenshot',
  'download', 'url', 'cookies'];

async function run(page, context, step) {
  const timeout = step.timeoutMs ?? defaultTimeout;
  const op = OPS.find((k) => k in step);
  need(op, `unknown step (one of ${OPS.join(', ')})`);
  const out = { op };
  switch (op) {
    case 'goto': {
      // chromium cancels requests in flight when the host's addresses change (net::ERR_NETWORK_CHANGED):
      // on a host where VMs come and go, bridges and taps appear at any moment. A load is repeated.
      let resp;
      for (let attempt = 1; ; attempt++) {
        try {
          resp = await page.goto(step.goto, { timeout });
          break;
        } catch (e) {
          if (attempt >= 3 || !e.message.includes('net::ERR_NETWORK_CHANGED')) throw e;
          out.networkChangedRetries = attempt;
        }
      }
      out.status = resp ? resp.status() : null;
      out.url = page.url();
      // playwright's client-certificate proxy answers a failed TLS connection with a 503 page
      // of its own: that is no answer from the server, but the TLS error it was
      if (out.status === 503) {
        const body = await resp.text().catch(() => '');
        const m = /^Playwright client-certificate error: ([^]*)/.exec(body);
        if (m) throw new Error(`TLS to ${new URL(step.goto).origin} failed: ${m[1].replace(/<br>/g, '').trim()}`);
      }
      if (step.expectStatus != null) need(out.status === step.expectStatus, `status ${out.status}, expected ${step.expectStatus}`);
      break;
    }
    case 'fill':
      await page.locator(step.fill).first().fill(String(step.value ?? ''), { timeout });
      break;
    case 'click':
      await page.locator(step.click).first().click({ timeout });
      break;
    case 'waitFor':
      await page.locator(step.waitFor).first().waitFor({ state: step.state ?? 'visible', timeout });
      break;
    case 'waitForText': {
      need(typeof step.text === 'string', 'waitForText needs "text"');
      const el = page.locator(step.waitForText).filter({ hasText: new RegExp(escapeRegExp(step.text)) }).first();
      try {
        await el.waitFor({ state: 'attached', timeout });
      } catch (e) {
        const now = await page.locator(step.waitForText).first().innerText({ timeout: 1000 }).catch(() => null);
        throw new Error(`"${step.text}" did not appear in ${step.waitForText} within ${timeout} ms; its text: ` +
          (now == null ? '(no such element)' : JSON.stringify(now.slice(-500))));
      }
      out.text = await el.innerText({ timeout });
      break;
    }
    case 'waitForURL':
      await page.waitForURL((u) => u.href.includes(step.waitForURL), { timeout });
      out.url = page.url();
      break;
    case 'text': {
      const loc = page.locator(step.text);
      out.text = await loc.first().innerText({ timeout });
      out.count = await loc.count();
      if (step.expect != null) need(out.text.includes(step.expect), `text does not contain "${step.expect}": ${JSON.stringify(out.text.slice(0, 500))}`);
      break;
    }
    case 'attrs': {
      const names = step.names ?? [];
      need(Array.isArray(names), '"names" must be a list');
      const loc = page.locator(step.attrs);
      if ((step.min ?? 1) > 0) await loc.first().waitFor({ state: 'attached', timeout });
      out.items = await loc.evaluateAll((els, ns) => els.map((e) => {
        const o = {};
        for (const n of ns) o[n] = e.getAttribute(n);
        o.text = e.innerText;
        return o;
      }), names);
      out.count = out.items.length;
      if (step.min != null) need(out.count >= step.min, `${out.count} matches, expected at least ${step.min}`);
      break;
    }
    case 'screenshot': {
      const file = inArtifacts(step.screenshot);
      ensureDir(file);
      await page.screenshot({ path: file, fullPage: step.fullPage ?? true, timeout });
      out.path = file;
      out.bytes = fs.statSync(file).size;
      break;
    }
    case 'download': {
      need(step.saveAs, 'download needs "saveAs"');
      const file = inArtifacts(step.saveAs);
      ensureDir(file);
      const [dl] = await Promise.all([page.waitForEvent('download', { timeout }),
        page.locator(step.download).first().click({ timeout })]);
      const failure = await dl.failure();
      need(!failure, `download failed: ${failure}`);
      await dl.saveAs(file);
      Object.assign(out, { path: file, suggestedFilename: dl.suggestedFilename(), url: dl.url(),
        bytes: fs.statSync(file).size, sha256: sha256(file) });
      break;
    }
    case 'url':
      out.url = page.url();
      if (step.expect != null) need(out.url.includes(step.expect), `URL ${out.url} does not contain "${step.expect}"`);
      break;
    case 'cookies':
      out.cookies = (await context.cookies()).map(({ name, value, domain, path: p, expires, httpOnly, secure, sameSite }) =>
        ({ name, value, domain, path: p, expires, httpOnly, secure, sameSite }));
      break;
  }
  return out;
}

let browser;
let status = 0;
try {
  browser = await chromium.launch({
    executablePath,
    headless: true,
    env: { ...process.env, HOME: home },
    timeout: 60000,
  });
  const context = await browser.newContext({
    viewport: options.viewport ?? { width: 1280, height: 900 },
    ignoreHTTPSErrors: !!options.ignoreHTTPSErrors,
    acceptDownloads: true,
    clientCertificates: clientCerts.map((c) => ({ origin: c.origin, certPath: c.cert, keyPath: c.key })),
  });
  const page = await context.newPage();
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i];
    const label = `step ${i + 1}${step.name ? ` "${step.name}"` : ''} ${JSON.stringify(step)}`;
    const t0 = Date.now();
    let out;
    let error;
    try {
      out = await run(page, context, step);
    } catch (e) {
      error = e.message.replace(/\u001b\[[0-9;]*m/g, '').split('\n').filter((l) => l.trim() !== '').slice(0, 6).join(' | ');
    }
    const ms = Date.now() - t0;
    const base = { step: i + 1, ...(step.name ? { name: step.name } : {}), op: OPS.find((k) => k in step) ?? null };
    if (step.expectFailure) {
      const want = typeof step.expectFailure === 'string' ? step.expectFailure : null;
      if (error && (!want || error.includes(want))) {
        console.log(JSON.stringify({ ...base, ok: true, failedAsExpected: error, ms }));
        continue;
      }
      error = error ? `failed, but not with "${want}": ${error}` : 'succeeded, but was expected to fail';
    }
    if (error) {
      console.log(JSON.stringify({ ...base, ok: false, error, ms }));
      const shot = inArtifacts(`failure-${scriptName}-step-${i + 1}.png`);
      let shotNote = '';
      try {
        ensureDir(shot);
        await page.screenshot({ path: shot, fullPage: true, timeout: 5000 });
        shotNote = ` (page at ${page.url()}; screenshot ${shot})`;
      } catch { /* a page that cannot be shot is no reason to hide the error */ }
      process.stderr.write(`browser.mjs: ${label} failed: ${error}${shotNote}\n`);
      status = 1;
      break;
    }
    console.log(JSON.stringify({ ...base, ...out, ok: true, ms }));
  }
  await context.close();
} catch (e) {
  process.stderr.write(`browser.mjs: ${e.message}\n`);
  status = 1;
} finally {
  await browser?.close().catch(() => {});
  cleanup();
}
process.exit(status);
