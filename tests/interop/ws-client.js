#!/usr/bin/env node
'use strict';
// ws-client.js: wss clients built on Node's `ws` package, the independent
// peer for lws-stress-server (tests/interop/interop.py).
//
// Each of --connections connections sends --messages seeded messages (binary
// and UTF-8 text, 0 bytes to --max-size, including the ws length-encoding
// boundaries 125/126/65535/65536), at most --window in flight, and requires
// every echo to come back in order, with the same type and the same bytes.
// With --large N it then sends the text "LARGE" and requires the server's
// large response (lws-stress-server --large-response N): one binary message
// of N bytes carrying a stress header with the large-response flag and the
// crc32 of its payload.  Then it closes with 1000 and requires the server's
// close.  With --reject-check it also makes one connection that does not
// trust --ca and requires it to fail certificate verification.
//
// Exit 0: every check held; 1: a check failed; 2: usage or setup error.

const fs = require('fs');
const C = require('./common');

const TOOL = 'ws-client';
const opts = C.parseArgs(TOOL,
  'Node.js ws clients that check echoes from a wss echo server (lws-stress-server).',
  {
    url: { arg: true, meta: 'URL', help: 'server, e.g. wss://127.0.0.1:PORT/' },
    ca: { arg: true, meta: 'FILE', help: 'trust only this CA (PEM) for wss' },
    servername: { arg: true, meta: 'NAME', help: 'TLS SNI / name to verify (default: from URL)' },
    protocol: { arg: true, def: 'lws-stress', meta: 'NAME', help: 'subprotocol to request' },
    connections: { arg: true, def: '4', meta: 'N', help: 'concurrent connections' },
    messages: { arg: true, def: '200', meta: 'M', help: 'messages per connection' },
    window: { arg: true, def: '4', meta: 'W', help: 'messages in flight per connection' },
    'max-size': { arg: true, def: '70000', meta: 'B', help: 'largest message' },
    large: { arg: true, def: '0', meta: 'N', help: 'after the messages, ask for an N-byte large response' },
    'tls12-conns': { arg: true, def: '0', meta: 'K', help: 'the first K connections offer at most TLS 1.2' },
    'reject-check': { arg: false, help: 'also require a connection without --ca to be rejected' },
    seed: { arg: true, def: '1', meta: 'N', help: 'seed for sizes and payloads' },
    timeout: { arg: true, def: '30', meta: 'S', help: 'give up (fail) after S seconds' },
    json: { arg: true, meta: 'FILE', help: 'summary JSON (\'-\' = stdout)' },
  }, process.argv.slice(2));

const WS = C.loadWs(TOOL);
if (!opts.url) C.usageError(TOOL, '--url is required');
const url = new URL(opts.url);
if (!['wss:', 'ws:'].includes(url.protocol)) C.usageError(TOOL, '--url must be ws:// or wss://');
if (!['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname))
  C.usageError(TOOL, '--url must name a loopback host (127.0.0.1, [::1], localhost)');
const tls = url.protocol === 'wss:';
if (tls && !opts.ca) C.usageError(TOOL, 'wss needs --ca (the server is verified against it)');
const nConns = C.intOpt(TOOL, opts, 'connections', 1, 1000);
const nMsgs = C.intOpt(TOOL, opts, 'messages', 0, 1000000);
const window = C.intOpt(TOOL, opts, 'window', 1, 1000);
const maxSize = C.intOpt(TOOL, opts, 'max-size', 0, 64 << 20);
const large = C.intOpt(TOOL, opts, 'large', 0, 256 << 20);
const tls12 = C.intOpt(TOOL, opts, 'tls12-conns', 0, nConns);
const seed = C.intOpt(TOOL, opts, 'seed', 0, 0xffffffff);
const timeout = C.intOpt(TOOL, opts, 'timeout', 1, 3600);
const ca = tls ? C.readFileOrDie(TOOL, '--ca', opts.ca) : null;
if (large && large < C.MSG_HDR_LEN) C.usageError(TOOL, `--large must be >= ${C.MSG_HDR_LEN}`);

const TEXT_CHARS = ['a', 'b', 'z', '0', ' ', '~', 'é', 'ß', '€', 'ω', '中', '𝄞', '😀'];
const BOUNDARY = [0, 1, 125, 126, 127, 65535, 65536, 65537];

// message i of connection c: same for the same seed
function makeMessage(c, i) {
  const r = C.rng((seed * 1000003) ^ (c * 7919) ^ (i * 104729));
  let size;
  if (i < BOUNDARY.length && (c % 2 === 0)) size = BOUNDARY[i];
  else size = r() % 4 === 0 ? r() % (maxSize + 1) : r() % Math.min(2048, maxSize + 1);
  size = Math.min(size, maxSize);
  if (r() % 3 === 0) {
    // UTF-8 text with multi-byte characters; never exactly "LARGE"
    const parts = ['t'];
    let n = 1;
    while (n < size) {
      const ch = TEXT_CHARS[r() % TEXT_CHARS.length];
      parts.push(ch);
      n += Buffer.byteLength(ch);
    }
    return { binary: false, data: Buffer.from(parts.join(''), 'utf8') };
  }
  const b = Buffer.allocUnsafe(size);
  for (let k = 0; k < size; k += 4) {
    const v = r();
    for (let j = 0; j < 4 && k + j < size; j++) b[k + j] = (v >>> (8 * j)) & 0xff;
  }
  if (size && b[0] === 0x4c) b[0] = 0x4d; // never a stress header ("LWSS")
  return { binary: true, data: b };
}

const res = {
  tool: TOOL, node_version: process.version, ws_version: require('ws/package.json').version,
  tls_library: 'OpenSSL ' + process.versions.openssl, url: opts.url,
  connections: nConns, messages_per_conn: nMsgs, window, seed, large,
  opened: 0, authorized: 0, tls_versions: {}, ciphers: {}, protocols: {},
  messages_sent: 0, messages_echoed_ok: 0, bytes_sent: 0, bytes_received: 0,
  text_sent: 0, binary_sent: 0, mismatched_type: 0, mismatched_content: 0,
  unexpected: 0, missing: 0, large_ok: 0, large_bad: 0,
  close_codes: {}, clean_closes: 0, errors: [], reject_check: null,
};
function note(map, k) { map[k] = (map[k] || 0) + 1; }
function err(text) { if (res.errors.length < 20) res.errors.push(text); }

function checkLarge(c, data, isBinary) {
  const h = C.hdrGet(data);
  const ok = isBinary && h && (h.flags & C.MSG_F_LARGE_RESP) && data.length === large &&
    h.len === large - C.MSG_HDR_LEN && C.crc32(data, C.MSG_HDR_LEN) === h.crc;
  if (ok) res.large_ok++;
  else {
    res.large_bad++;
    err(`conn ${c}: bad large response (${data.length} bytes, binary ${isBinary}, ` +
        `header ${h ? JSON.stringify(h) : 'none'})`);
  }
}

function runConn(c) {
  return new Promise((resolve) => {
    const o = { protocol: undefined, perMessageDeflate: false, handshakeTimeout: 10000 };
    if (tls) {
      o.ca = ca;
      o.rejectUnauthorized = true;
      if (opts.servername) o.servername = opts.servername;
      if (c < tls12) o.maxVersion = 'TLSv1.2';
    }
    const ws = new WS.WebSocket(opts.url, opts.protocol ? [opts.protocol] : [], o);
    const pending = [];     // expected echoes, in order
    let next = 0;           // next message index to send
    let largeWanted = false;
    let closing = false;

    const pump = () => {
      while (!closing && next < nMsgs && pending.length < window) {
        const m = makeMessage(c, next++);
        pending.push(m);
        ws.send(m.data, { binary: m.binary });
        res.messages_sent++;
        res.bytes_sent += m.data.length;
        if (m.binary) res.binary_sent++; else res.text_sent++;
      }
      if (!closing && next >= nMsgs && pending.length === 0) {
        if (large && !largeWanted) {
          largeWanted = true;
          pending.push({ large: true });
          ws.send('LARGE');
          res.bytes_sent += 5;
          return;
        }
        closing = true;
        ws.close(1000, 'done');
      }
    };

    ws.on('open', () => {
      res.opened++;
      note(res.protocols, ws.protocol || '(none)');
      if (ws.protocol !== opts.protocol) err(`conn ${c}: subprotocol '${ws.protocol}'`);
      if (tls) {
        const s = ws._socket;
        if (s.authorized) res.authorized++;
        else err(`conn ${c}: not authorized: ${s.authorizationError}`);
        note(res.tls_versions, (c < tls12 ? 'capped-1.2:' : '') + (s.getProtocol() || '?'));
        note(res.ciphers, (s.getCipher() || {}).standardName || '?');
      }
      pump();
    });
    ws.on('message', (data, isBinary) => {
      res.bytes_received += data.length;
      const exp = pending.shift();
      if (!exp) { res.unexpected++; err(`conn ${c}: unexpected message (${data.length} bytes)`); return; }
      if (exp.large) checkLarge(c, data, isBinary);
      else if (exp.binary !== isBinary) {
        res.mismatched_type++;
        err(`conn ${c}: echo of a ${exp.binary ? 'binary' : 'text'} message came back as ${isBinary ? 'binary' : 'text'}`);
      } else if (!exp.data.equals(data)) {
        res.mismatched_content++;
        err(`conn ${c}: echo differs (${exp.data.length} bytes sent, ${data.length} received)`);
      } else {
        res.messages_echoed_ok++;
      }
      pump();
    });
    ws.on('error', (e) => err(`conn ${c}: ${e.code || ''} ${e.message}`));
    ws.on('close', (code) => {
      note(res.close_codes, String(code));
      if (closing && code === 1000) res.clean_closes++;
      res.missing += pending.filter((m) => !m.large).length + (nMsgs - next);
      if (!closing) err(`conn ${c}: closed by the server / link (code ${code}) before the end`);
      resolve();
    });
  });
}

// a client that does not trust the test CA must be refused
function rejectCheck() {
  return new Promise((resolve) => {
    const o = { rejectUnauthorized: true, handshakeTimeout: 10000 };
    if (opts.servername) o.servername = opts.servername;
    const ws = new WS.WebSocket(opts.url, [opts.protocol], o);
    let done = false;
    const end = (r) => { if (!done) { done = true; res.reject_check = r; resolve(); } };
    ws.on('open', () => { end({ rejected: false, error: 'connected without trusting the CA' }); ws.terminate(); });
    ws.on('error', (e) => end({ rejected: true, code: e.code || null, error: e.message }));
    ws.on('close', () => end({ rejected: false, error: 'closed without a TLS error' }));
  });
}

const CERT_ERRORS = ['SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_UNTRUSTED'];

function finish(why) {
  const expected = nConns * nMsgs;
  const fails = [];
  if (res.opened !== nConns) fails.push(`opened ${res.opened}/${nConns} connections`);
  if (tls && res.authorized !== nConns) fails.push(`authorized ${res.authorized}/${nConns}`);
  if (res.messages_echoed_ok !== expected) fails.push(`echoed ok ${res.messages_echoed_ok}/${expected}`);
  for (const k of ['mismatched_type', 'mismatched_content', 'unexpected', 'missing', 'large_bad'])
    if (res[k]) fails.push(`${k} ${res[k]}`);
  if (large && res.large_ok !== nConns) fails.push(`large responses ok ${res.large_ok}/${nConns}`);
  if (res.clean_closes !== nConns) fails.push(`clean closes (1000) ${res.clean_closes}/${nConns}`);
  if (res.protocols[opts.protocol] !== nConns) fails.push(`subprotocol ${opts.protocol} on ${res.protocols[opts.protocol] || 0}/${nConns}`);
  if (opts['reject-check']) {
    const r = res.reject_check;
    if (!r || !r.rejected || !CERT_ERRORS.includes(r.code))
      fails.push(`untrusted-CA connection not rejected by certificate verification: ${JSON.stringify(r)}`);
  }
  if (why !== 'done') fails.push(why);
  res.ok = fails.length === 0;
  res.failures = fails;
  res.end = why;
  res.elapsed_s = (Date.now() - t0) / 1000;
  const text = JSON.stringify(res, null, 1) + '\n';
  if (opts.json === '-') process.stdout.write(text);
  else if (opts.json) C.writeAtomic(opts.json, text);
  process.stderr.write(`${TOOL}: ${res.ok ? 'OK' : 'FAIL'}: ${res.messages_echoed_ok}/${expected} echoes ok, ` +
    `${res.bytes_sent} bytes sent, ${res.bytes_received} received, large ${res.large_ok}, ` +
    `TLS ${JSON.stringify(res.tls_versions)}${fails.length ? '; ' + fails.join('; ') : ''}\n`);
  for (const e of res.errors) process.stderr.write(`  ${e}\n`);
  process.exit(res.ok ? 0 : 1);
}

const t0 = Date.now();
setTimeout(() => finish(`timed out after ${timeout}s`), timeout * 1000).unref();
(async () => {
  if (opts['reject-check']) {
    if (!tls) C.usageError(TOOL, '--reject-check needs wss');
    await rejectCheck();
  }
  const conns = [];
  for (let c = 0; c < nConns; c++) conns.push(runConn(c));
  await Promise.all(conns);
  finish('done');
})().catch((e) => { process.stderr.write(`${TOOL}: setup error: ${e.stack}\n`); process.exit(2); });
