'use strict';
// Shared helpers for the interop peers (ws-echo-server.js, ws-client.js):
// option parsing, the lws stress message header, crc32, a seeded PRNG,
// loading `ws` with a clear error, atomic file writes.

const fs = require('fs');
const path = require('path');

// ---- options ----------------------------------------------------------------
// spec: { name: {arg: true|false, def: value, help: text} }; --help prints usage
function parseArgs(tool, summary, spec, argv) {
  const opts = {};
  for (const [k, s] of Object.entries(spec)) opts[k] = s.def;
  const usage = () => {
    const lines = [`usage: ${tool} [options]`, summary, ''];
    for (const [k, s] of Object.entries(spec)) {
      const left = `  --${k}${s.arg ? ' ' + (s.meta || 'X') : ''}`;
      lines.push(left.padEnd(26) + ' ' + s.help +
                 (s.def !== undefined && s.arg ? ` (default ${s.def})` : ''));
    }
    lines.push('  --help'.padEnd(26) + ' this text');
    return lines.join('\n') + '\n';
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') { process.stdout.write(usage()); process.exit(0); }
    const k = a.startsWith('--') ? a.slice(2) : null;
    if (!k || !(k in spec)) usageError(tool, `unknown option ${a}`);
    if (spec[k].arg) {
      if (i + 1 >= argv.length) usageError(tool, `${a} needs a value`);
      opts[k] = argv[++i];
    } else {
      opts[k] = true;
    }
  }
  return opts;
}

function usageError(tool, msg) {
  process.stderr.write(`${tool}: ${msg} (see --help)\n`);
  process.exit(2);
}

function intOpt(tool, opts, k, min, max) {
  const v = Number(opts[k]);
  if (!Number.isInteger(v) || v < min || (max !== undefined && v > max))
    usageError(tool, `--${k} must be an integer in ${min}..${max === undefined ? 'inf' : max}`);
  return v;
}

// ---- ws -----------------------------------------------------------------------
function loadWs(tool) {
  try {
    return require('ws');
  } catch (e) {
    process.stderr.write(`${tool}: setup error: cannot load the npm package 'ws' ` +
      `(NODE_PATH=${process.env.NODE_PATH || 'unset'}): ${e.message}\n` +
      `  provide it with scripts/node-deps DIR and NODE_PATH=DIR/node_modules\n`);
    process.exit(2);
  }
}

// ---- crc32 (IEEE 802.3, reflected, as zlib; same as th_crc32) ---------------
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf, start = 0, end = buf.length) {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// ---- stress message header (test-apps/common/th-lws.h) ------------------------
const MSG_MAGIC = 0x4c575353; // "LWSS"
const MSG_HDR_LEN = 28;
const MSG_F_WANT_LARGE = 1;
const MSG_F_LARGE_RESP = 2;

function hdrGet(buf) {
  if (buf.length < MSG_HDR_LEN || buf.readUInt32BE(0) !== MSG_MAGIC) return null;
  return {
    magic: buf.readUInt32BE(0), conn_id: buf.readUInt32BE(4),
    attempt: buf.readUInt32BE(8), seq: buf.readUInt32BE(12),
    flags: buf.readUInt32BE(16), len: buf.readUInt32BE(20), crc: buf.readUInt32BE(24),
  };
}

// ---- seeded PRNG (splitmix32-ish; repeatable payloads) ------------------------
function rng(seed) {
  let s = (seed >>> 0) || 0x9e3779b9;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

// ---- files ----------------------------------------------------------------------
function writeAtomic(file, text) {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

function readFileOrDie(tool, opt, file) {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    process.stderr.write(`${tool}: setup error: ${opt} ${file}: ${e.message}\n`);
    process.exit(2);
  }
}

module.exports = {
  parseArgs, usageError, intOpt, loadWs, crc32, hdrGet, rng, writeAtomic, readFileOrDie,
  MSG_MAGIC, MSG_HDR_LEN, MSG_F_WANT_LARGE, MSG_F_LARGE_RESP,
};
