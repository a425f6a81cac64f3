#!/usr/bin/env node
'use strict';
// browser.js: a real browser (Debian's chromium, headless) as a wss client of
// lws-stress-server, driven over the DevTools protocol (CDP) with no other
// npm package than `ws` (tests/interop/browser.py runs it).
//
// In one page it runs, for --seconds:
//   --healthy N  long-lived connections to --healthy-url, each echoing
//               numbered binary messages (seeded sizes 1..4096, at most 4 in
//               flight) and requiring every echo back in order, byte-exact,
//               and the connection open until the page closes it (1000);
//   --churn M   workers that open connections to --faulty-url one after the
//               other (lws-faultproxy breaks them), send until they die, and
//               count how they ended.
// The browser must trust the server's CA itself: browser.py puts the test CA
// in an NSS database under $HOME, where Chromium on Linux looks for it.
//
// Exit 0: the page ran and the result was written (--json); 2: setup error.
// The verdict is browser.py's.

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');
const C = require('./common');

const TOOL = 'browser';
const opts = C.parseArgs(TOOL,
  'Headless Chromium as a wss client: healthy echo connections beside broken ones.',
  {
    chromium: { arg: true, def: '/usr/bin/chromium', meta: 'PATH', help: 'browser binary' },
    'healthy-url': { arg: true, meta: 'URL', help: 'wss URL for the healthy connections' },
    'faulty-url': { arg: true, meta: 'URL', help: 'wss URL for the connections that get broken' },
    healthy: { arg: true, def: '4', meta: 'N', help: 'healthy connections' },
    churn: { arg: true, def: '2', meta: 'M', help: 'workers opening broken connections' },
    seconds: { arg: true, def: '6', meta: 'S', help: 'how long the page runs' },
    seed: { arg: true, def: '1', meta: 'N', help: 'seed of the message sizes' },
    protocol: { arg: true, def: 'lws-stress', meta: 'NAME', help: 'subprotocol to request' },
    'user-data-dir': { arg: true, meta: 'DIR', help: 'fresh browser profile directory' },
    json: { arg: true, meta: 'FILE', help: 'write the page result here' },
  }, process.argv.slice(2));
for (const k of ['healthy-url', 'faulty-url', 'user-data-dir', 'json'])
  if (!opts[k]) C.usageError(TOOL, `--${k} is required`);
const healthy = C.intOpt(TOOL, opts, 'healthy', 1, 64);
const churn = C.intOpt(TOOL, opts, 'churn', 0, 16);
const seconds = C.intOpt(TOOL, opts, 'seconds', 1, 120);
const seed = C.intOpt(TOOL, opts, 'seed', 0);
const WS = C.loadWs(TOOL);

function setupError(text) {
  process.stderr.write(`${TOOL}: setup error: ${text}\n`);
  process.exit(2);
}

// ---- the page: runs inside Chromium ----------------------------------------
// (a function whose source is sent with Runtime.evaluate)
async function pageMain(cfg) {
  const mix = (a) => { a = Math.imul(a ^ (a >>> 16), 0x85ebca6b); return (a ^ (a >>> 13)) >>> 0; };
  const message = (conn, n) => {
    const size = 8 + mix(cfg.seed * 7919 + conn * 104729 + n) % 4089;
    const b = new Uint8Array(size);
    new DataView(b.buffer).setUint32(0, conn);
    new DataView(b.buffer).setUint32(4, n);
    for (let k = 8; k < size; k++) b[k] = mix(n * 31 + k) & 0xff;
    return b;
  };
  const same = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);
  const end = Date.now() + cfg.ms;

  const healthyConn = (i) => new Promise((resolve) => {
    const r = { conn: i, opened: false, sent: 0, echoed_ok: 0, bad: 0, closed_by: null,
                code: null, was_clean: null, early: false, error: null };
    const pending = [];
    let closing = false;
    const ws = new WebSocket(cfg.healthyUrl, [cfg.protocol]);
    ws.binaryType = 'arraybuffer';
    const sendOne = () => { const m = message(i, r.sent++); pending.push(m); ws.send(m); };
    ws.onopen = () => { r.opened = true; for (let w = 0; w < 4; w++) sendOne(); };
    ws.onmessage = (ev) => {
      const want = pending.shift();
      const got = new Uint8Array(ev.data);
      if (want && same(got, want)) r.echoed_ok++; else r.bad++;
      if (Date.now() < end) sendOne();
      else if (!pending.length && !closing) { closing = true; ws.close(1000); }
    };
    ws.onerror = () => { r.error = 'error event'; };
    ws.onclose = (ev) => {
      r.code = ev.code; r.was_clean = ev.wasClean;
      r.closed_by = closing ? 'page' : 'server or network';
      r.early = !closing;
      resolve(r);
    };
  });

  const churnWorker = async (w) => {
    const r = { opened: 0, failed_to_open: 0, ended: {} };
    let n = 0;
    while (Date.now() < end - 500 && n < 500) {
      await new Promise((resolve) => {
        const ws = new WebSocket(cfg.faultyUrl, [cfg.protocol]);
        let opened = false, k = 0;
        const t = setTimeout(() => ws.close(), 2000);
        ws.binaryType = 'arraybuffer';
        ws.onopen = () => { opened = true; r.opened++; ws.send(message(1000 + w, k++)); };
        ws.onmessage = () => { if (k < 50) ws.send(message(1000 + w, k++)); else ws.close(1000); };
        ws.onclose = (ev) => {
          clearTimeout(t);
          if (!opened) r.failed_to_open++;
          const key = String(ev.code);
          r.ended[key] = (r.ended[key] || 0) + 1;
          resolve();
        };
      });
      n++;
    }
    return r;
  };

  const results = await Promise.all([
    Promise.all([...Array(cfg.healthy).keys()].map(healthyConn)),
    Promise.all([...Array(cfg.churn).keys()].map(churnWorker)),
  ]);
  return { userAgent: navigator.userAgent, healthy: results[0], churn: results[1] };
}

// ---- CDP -------------------------------------------------------------------------
function cdpClient(url) {
  return new Promise((resolve, reject) => {
    const sock = new WS.WebSocket(url, { perMessageDeflate: false, maxPayload: 256 << 20 });
    let id = 0;
    const waiting = new Map();
    sock.on('message', (data) => {
      const m = JSON.parse(data);
      if (m.id && waiting.has(m.id)) {
        const { res, rej } = waiting.get(m.id);
        waiting.delete(m.id);
        if (m.error) rej(new Error(`${m.error.message} (${m.error.code})`)); else res(m.result);
      }
    });
    sock.on('error', reject);
    sock.on('open', () => resolve({
      send(method, params = {}, sessionId) {
        return new Promise((res, rej) => {
          const msg = { id: ++id, method, params };
          if (sessionId) msg.sessionId = sessionId;
          waiting.set(msg.id, { res, rej });
          sock.send(JSON.stringify(msg));
        });
      },
      close() { sock.close(); },
    }));
  });
}

async function waitFile(file, ms, child) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (child.exitCode !== null) setupError(`chromium exited (${child.exitCode}) before it was ready`);
    try {
      const t = fs.readFileSync(file, 'utf8').split('\n');
      if (t.length >= 2 && t[1]) return t;
    } catch (e) { /* not yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  setupError(`no ${file} after ${ms} ms`);
}

async function main() {
  if (!fs.existsSync(opts.chromium)) setupError(`${opts.chromium} not found (Debian package chromium)`);
  const udd = opts['user-data-dir'];
  fs.mkdirSync(udd, { recursive: true });
  // flags: no sandbox (root), and nothing that reaches for the network
  const args = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic',
    '--no-first-run', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--disable-extensions', '--disable-default-apps',
    '--remote-debugging-port=0', `--user-data-dir=${udd}`, 'about:blank'];
  const child = spawn(opts.chromium, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { if (stderr.length < 20000) stderr += d; });
  const killer = setTimeout(() => { child.kill('SIGKILL'); setupError('browser run took too long'); },
    (seconds + 60) * 1000);
  try {
    const [port, wsPath] = await waitFile(path.join(udd, 'DevToolsActivePort'), 30000, child);
    const cdp = await cdpClient(`ws://127.0.0.1:${port}${wsPath}`);
    const version = await cdp.send('Browser.getVersion');
    const { targetId } = await cdp.send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await cdp.send('Target.attachToTarget', { targetId, flatten: true });
    const cfg = { healthyUrl: opts['healthy-url'], faultyUrl: opts['faulty-url'], healthy, churn,
                  ms: seconds * 1000, seed, protocol: opts.protocol };
    const r = await cdp.send('Runtime.evaluate', {
      expression: `(${pageMain.toString()})(${JSON.stringify(cfg)})`,
      awaitPromise: true, returnByValue: true, timeout: (seconds + 30) * 1000,
    }, sessionId);
    if (r.exceptionDetails) setupError(`page script failed: ${JSON.stringify(r.exceptionDetails).slice(0, 500)}`);
    const out = Object.assign({ tool: TOOL, browser: version.product, config: cfg }, r.result.value);
    C.writeAtomic(opts.json, JSON.stringify(out, null, 1) + '\n');
    await cdp.send('Browser.close').catch(() => {});
    cdp.close();
  } finally {
    clearTimeout(killer);
    if (child.exitCode === null) child.kill('SIGTERM');
  }
  if (process.env.BROWSER_DEBUG) process.stderr.write(stderr);
}

main().catch((e) => setupError(e.stack || String(e)));
