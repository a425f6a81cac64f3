#!/usr/bin/env node
'use strict';
// ws-echo-server.js: a wss echo server built on Node's `ws` package, the
// independent peer for lws-stress-client (tests/interop/interop.py).
//
// Every message is echoed back unchanged with its type (binary / text).  With
// --check-stress-header every message must also be a well-formed stress
// message (test-apps/common/th-lws.h): magic, length, crc32 of the payload,
// and seq 0, 1, 2, ... with one conn_id/attempt on each connection; anything
// else is counted as bad (and still echoed, so the lws client sees it too).

const fs = require('fs');
const https = require('https');
const http = require('http');
const C = require('./common');

const TOOL = 'ws-echo-server';
const opts = C.parseArgs(TOOL,
  'wss (or --no-tls ws) echo server on Node.js ws, for interop tests.\n' +
  'Writes its port to --ready-file once listening; on SIGTERM/SIGINT or after\n' +
  '--duration it writes the --json summary and exits 0 (2: usage/setup error).',
  {
    host: { arg: true, def: '127.0.0.1', meta: 'ADDR', help: 'listen address (loopback only)' },
    port: { arg: true, def: '0', meta: 'N', help: 'listen port (0 = any free port)' },
    cert: { arg: true, meta: 'FILE', help: 'server certificate (PEM)' },
    key: { arg: true, meta: 'FILE', help: 'server key (PEM)' },
    'no-tls': { arg: false, help: 'plain ws instead of wss' },
    protocol: { arg: true, def: 'lws-stress', meta: 'NAME',
                help: 'subprotocol to select when the client offers it' },
    'check-stress-header': { arg: false,
                help: 'require every message to be a valid stress message' },
    'corrupt-every': { arg: true, def: '0', meta: 'N',
                help: 'control runs only: flip the last byte of every Nth non-empty binary echo' },
    duration: { arg: true, def: '120', meta: 'S', help: 'exit after S seconds' },
    'ready-file': { arg: true, meta: 'PATH', help: 'write "<port>\\n" here when listening' },
    json: { arg: true, meta: 'FILE', help: 'summary JSON (\'-\' = stdout)' },
  }, process.argv.slice(2));

const WS = C.loadWs(TOOL);
const duration = C.intOpt(TOOL, opts, 'duration', 1, 3600);
const port = C.intOpt(TOOL, opts, 'port', 0, 65535);
const corruptEvery = C.intOpt(TOOL, opts, 'corrupt-every', 0, 1000000);
if (!['127.0.0.1', '::1', 'localhost'].includes(opts.host))
  C.usageError(TOOL, '--host must be a loopback address (127.0.0.1, ::1, localhost)');
if (!opts['no-tls'] && (!opts.cert || !opts.key))
  C.usageError(TOOL, '--cert and --key are needed (or --no-tls)');

const st = {
  connections: 0, closed: 0, open_max: 0, open: 0,
  tls_versions: {}, ciphers: {}, protocols: {},
  messages_rx: 0, messages_tx: 0, binary_rx: 0, text_rx: 0,
  bytes_rx: 0, bytes_tx: 0, send_errors: 0,
  stress_ok: 0, stress_bad_header: 0, stress_bad_len: 0, stress_bad_crc: 0,
  stress_bad_seq: 0, stress_bad_ident: 0,
  close_codes: {}, errors: [], tls_client_errors: 0,
  corrupt_candidates: 0, corrupted_sent: 0, sessions_reused: 0,
};
const t0 = Date.now();

function note(map, k) { map[k] = (map[k] || 0) + 1; }
function err(text) { if (st.errors.length < 20) st.errors.push(text); }

const server = opts['no-tls']
  ? http.createServer()
  : https.createServer({
    cert: C.readFileOrDie(TOOL, '--cert', opts.cert),
    key: C.readFileOrDie(TOOL, '--key', opts.key),
  });
server.on('tlsClientError', (e) => { st.tls_client_errors++; err('tlsClientError: ' + e.message); });

const wss = new WS.WebSocketServer({
  server,
  maxPayload: 64 << 20,
  perMessageDeflate: false,
  handleProtocols: (protocols) => (protocols.has(opts.protocol) ? opts.protocol : false),
});

wss.on('connection', (ws, req) => {
  const sock = req.socket;
  const id = ++st.connections;
  st.open++;
  if (st.open > st.open_max) st.open_max = st.open;
  if (!opts['no-tls']) {
    note(st.tls_versions, sock.getProtocol() || '?');
    note(st.ciphers, (sock.getCipher() || {}).standardName || '?');
    if (sock.isSessionReused()) st.sessions_reused++;
  }
  note(st.protocols, ws.protocol || '(none)');
  let ident = null;
  let nextSeq = 0;

  ws.on('message', (data, isBinary) => {
    st.messages_rx++;
    st.bytes_rx += data.length;
    if (isBinary) st.binary_rx++; else st.text_rx++;
    if (opts['check-stress-header']) {
      const h = C.hdrGet(data);
      if (!h) {
        st.stress_bad_header++;
        err(`conn ${id}: message ${st.messages_rx}: no stress header (${data.length} bytes)`);
      } else if (h.len !== data.length - C.MSG_HDR_LEN) {
        st.stress_bad_len++;
        err(`conn ${id}: header len ${h.len} but ${data.length - C.MSG_HDR_LEN} payload bytes`);
      } else if (C.crc32(data, C.MSG_HDR_LEN) !== h.crc) {
        st.stress_bad_crc++;
        err(`conn ${id}: crc mismatch on seq ${h.seq}`);
      } else {
        const key = `${h.conn_id}/${h.attempt}`;
        if (ident === null) ident = key;
        if (key !== ident) {
          st.stress_bad_ident++;
          err(`conn ${id}: conn/attempt changed ${ident} -> ${key}`);
        } else if (h.seq !== nextSeq) {
          st.stress_bad_seq++;
          err(`conn ${id}: seq ${h.seq}, expected ${nextSeq}`);
        } else {
          st.stress_ok++;
        }
        nextSeq = h.seq + 1;
      }
    }
    let out = data;
    if (corruptEvery && isBinary && data.length && ++st.corrupt_candidates % corruptEvery === 0) {
      out = Buffer.from(data);
      out[out.length - 1] ^= 0x01;
      st.corrupted_sent++;
    }
    ws.send(out, { binary: isBinary }, (e) => {
      if (e) { st.send_errors++; err(`conn ${id}: send: ${e.message}`); return; }
      st.messages_tx++;
      st.bytes_tx += data.length;
    });
  });
  ws.on('error', (e) => err(`conn ${id}: ${e.message}`));
  ws.on('close', (code) => {
    st.open--;
    st.closed++;
    note(st.close_codes, String(code));
  });
});
wss.on('error', (e) => err('wss: ' + e.message));

server.on('error', (e) => {
  process.stderr.write(`${TOOL}: setup error: listen ${opts.host}:${port}: ${e.message}\n`);
  process.exit(2);
});

// the kernel's limit (somaxconn), as lws listens: Node's default of 511
// drops SYNs when a benchmark client opens 1000 connections at once
server.listen({ port, host: opts.host, backlog: 4096 }, () => {
  const p = server.address().port;
  process.stderr.write(`${TOOL}: listening on ${opts.host}:${p} ` +
    `(${opts['no-tls'] ? 'ws' : 'wss'}, node ${process.version}, ws ` +
    `${require('ws/package.json').version})\n`);
  if (opts['ready-file']) C.writeAtomic(opts['ready-file'], `${p}\n`);
});

let finished = false;
function finish(why) {
  if (finished) return;
  finished = true;
  const summary = {
    tool: TOOL, node_version: process.version,
    ws_version: require('ws/package.json').version,
    tls_library: 'OpenSSL ' + process.versions.openssl,
    tls: !opts['no-tls'], port: server.address() ? server.address().port : null,
    elapsed_s: (Date.now() - t0) / 1000, end: why, ...st,
  };
  const text = JSON.stringify(summary, null, 1) + '\n';
  if (opts.json === '-') process.stdout.write(text);
  else if (opts.json) C.writeAtomic(opts.json, text);
  process.stderr.write(`${TOOL}: ${why}: ${st.connections} connections, ` +
    `${st.messages_rx} messages / ${st.bytes_rx} bytes echoed, ` +
    `stress ok ${st.stress_ok} bad ${st.stress_bad_header + st.stress_bad_len + st.stress_bad_crc + st.stress_bad_seq + st.stress_bad_ident}\n`);
  for (const c of wss.clients) c.terminate();
  server.close();
  process.exit(0);
}
process.on('SIGTERM', () => finish('SIGTERM'));
process.on('SIGINT', () => finish('SIGINT'));
setTimeout(() => finish('duration reached'), duration * 1000).unref();
// keep the loop alive for the duration even with no connection
const keep = setInterval(() => {}, 1000);
process.on('exit', () => clearInterval(keep));
