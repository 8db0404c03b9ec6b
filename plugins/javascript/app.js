// spud's first-party `javascript` plugin: runs a JavaScript source string inside the sandbox.
//
// Built into a WASI 0.2 component with componentize-js (StarlingMonkey / SpiderMonkey), see
// plugins/javascript/build.mjs and scripts/build-javascript.sh. The host enforces every limit
// (memory, fuel, wall time, output, files, network); this module only runs the code and reports
// stdout, stderr, the value of the last expression and any exception with its stack.

import { getDirectories } from 'wasi:filesystem/preopens@0.2.12';

const MANIFEST = {
  spud_manifest: 1,
  name: 'javascript',
  version: '0.1.0',
  description:
    'Runs JavaScript code in the WebAssembly sandbox (SpiderMonkey; console, JSON, RegExp, Math, Date, Map/Set, a small synchronous `fs`).',
  requests: {
    files: [{ guest: '/scratch', access: 'read-write', why: 'scratch directory for the code' }],
    limits: { memory_mb: 64, timeout_ms: 10000 },
  },
  tools: [
    {
      name: 'run',
      description:
        'Run a JavaScript program (evaluated like an indirect eval, as a classic script). Returns ' +
        'what console.log / console.error printed, the value of the last expression (if not ' +
        'undefined) and, on failure, the exception with its stack. Files may be read and ' +
        "written under /scratch with a synchronous `fs` global (also `require('fs')`): " +
        'readFileSync, writeFileSync, appendFileSync, existsSync, readdirSync, mkdirSync, ' +
        'unlinkSync, statSync. No network, no processes, no modules.',
      input_schema: {
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'object',
        properties: { code: { type: 'string', description: 'JavaScript source' } },
        required: ['code'],
        additionalProperties: false,
      },
      output_schema: {
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'object',
        properties: {
          stdout: { type: 'string' },
          stderr: { type: 'string' },
          value: { type: ['string', 'null'] },
          error: {
            type: ['object', 'null'],
            properties: {
              type: { type: 'string' },
              message: { type: 'string' },
              traceback: { type: 'string' },
            },
          },
        },
        required: ['stdout', 'stderr', 'value', 'error'],
      },
    },
  ],
};

// Output kept inside the guest before truncation (characters); the host caps its pipes too.
const MAX_CAPTURE = 64 << 10;

class Capped {
  constructor() {
    this.parts = [];
    this.size = 0;
    this.dropped = 0;
  }
  write(s) {
    const room = MAX_CAPTURE - this.size;
    if (room <= 0) {
      this.dropped += s.length;
      return;
    }
    if (s.length > room) {
      this.dropped += s.length - room;
      s = s.slice(0, room);
    }
    this.parts.push(s);
    this.size += s.length;
  }
  text(name) {
    let t = this.parts.join('');
    if (this.dropped) t += `\n[spud: ${this.dropped} characters of ${name} dropped]`;
    return t;
  }
}

// A short, Node-like rendering of a value (strings quoted when `quote`).
function inspect(v, quote = true, depth = 0, seen = new Set()) {
  switch (typeof v) {
    case 'string':
      return quote ? JSON.stringify(v) : v;
    case 'undefined':
      return 'undefined';
    case 'bigint':
      return `${v}n`;
    case 'symbol':
      return v.toString();
    case 'function':
      return `[Function: ${v.name || '(anonymous)'}]`;
    case 'number':
      return Object.is(v, -0) ? '-0' : String(v);
    case 'boolean':
      return String(v);
  }
  if (v === null) return 'null';
  if (seen.has(v)) return '[Circular]';
  if (v instanceof Error) return errorText(v);
  if (v instanceof Date) return isNaN(v) ? 'Invalid Date' : v.toISOString();
  if (v instanceof RegExp) return String(v);
  if (depth > 3) return Array.isArray(v) ? '[Array]' : '[Object]';
  seen.add(v);
  try {
    const inner = (x) => inspect(x, true, depth + 1, seen);
    if (Array.isArray(v)) return `[ ${v.map(inner).join(', ')} ]`.replace('[  ]', '[]');
    if (v instanceof Map)
      return `Map(${v.size}) { ${[...v].map(([k, x]) => `${inner(k)} => ${inner(x)}`).join(', ')} }`;
    if (v instanceof Set) return `Set(${v.size}) { ${[...v].map(inner).join(', ')} }`;
    if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${v.length}) [ ${Array.from(v).slice(0, 100).join(', ')} ]`;
    if (typeof v.then === 'function') return 'Promise { <pending> }';
    const keys = Object.keys(v);
    const name = v.constructor && v.constructor !== Object ? `${v.constructor.name} ` : '';
    if (keys.length === 0) return `${name}{}`;
    const key = (k) => (/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k));
    return `${name}{ ${keys.map((k) => `${key(k)}: ${inner(v[k])}`).join(', ')} }`;
  } finally {
    seen.delete(v);
  }
}

// The stack of an error thrown by the user's code, without this module's frames:
// `f@source.js line 315 > eval:2:9` becomes `f@<code>:2:9`.
function errorText(e) {
  const head = `${e.name || 'Error'}: ${e.message}`;
  if (typeof e.stack !== 'string' || !e.stack) return head;
  const frames = [];
  let repeated = 0;
  const flush = () => {
    if (repeated) frames.push(`  [previous line repeated ${repeated} more times]`);
    repeated = 0;
  };
  for (const line of e.stack.split('\n')) {
    if (line.startsWith('run@source.js:')) break;
    // Frames of this module (e.g. `require`) are not the user's.
    if (!line || /@source\.js:\d/.test(line)) continue;
    const frame = line.replace(/@source\.js line \d+ > eval:/, '@<code>:');
    if (frame === frames[frames.length - 1]) {
      repeated++;
      continue;
    }
    flush();
    if (frames.length >= 100) {
      frames.push('  [more frames omitted]');
      break;
    }
    frames.push(frame);
  }
  flush();
  return frames.length ? `${head}\n${frames.join('\n')}` : head;
}

// The engine's `fetch` (and the classes behind it) need wasi:http, which this build does not
// import: remove them, so that code finds no network API at all instead of crashing the engine.
for (const name of ['fetch', 'Request', 'Response', 'Headers']) delete globalThis[name];

// --- a small synchronous `fs` over wasi:filesystem, confined to the preopened directories ---

const ERRNO = {
  access: 'EACCES',
  'not-permitted': 'EPERM',
  'no-entry': 'ENOENT',
  exist: 'EEXIST',
  'is-directory': 'EISDIR',
  'not-directory': 'ENOTDIR',
  'not-empty': 'ENOTEMPTY',
  'read-only': 'EROFS',
  'insufficient-space': 'ENOSPC',
  'file-too-large': 'EFBIG',
  invalid: 'EINVAL',
  loop: 'ELOOP',
  'name-too-long': 'ENAMETOOLONG',
};

function fsError(code, syscall, path) {
  const err = new Error(`${code}: ${syscall} '${path}'`);
  err.code = code;
  err.syscall = syscall;
  err.path = path;
  return err;
}

function wasiCall(syscall, path, f) {
  try {
    return f();
  } catch (e) {
    const code = e && typeof e.payload === 'string' ? ERRNO[e.payload] || e.payload : null;
    if (code) throw fsError(code, syscall, path);
    throw e;
  }
}

function normalize(path) {
  if (typeof path !== 'string') throw new TypeError('path must be a string');
  if (!path.startsWith('/')) path = `/scratch/${path}`;
  return path;
}

// The preopened directory holding `path` and the path relative to it. `..` components are
// passed through: the host refuses any that leave the directory.
function locate(path, syscall) {
  path = normalize(path);
  let best = null;
  for (const [dir, guest] of getDirectories()) {
    const g = guest.replace(/\/+$/, '') || '/';
    const inside = path === g || path.startsWith(g === '/' ? '/' : `${g}/`);
    if (inside && (!best || g.length > best[1].length)) best = [dir, g];
  }
  if (!best) throw fsError('ENOENT', syscall, path);
  const rel = path.slice(best[1].length).replace(/^\/+/, '') || '.';
  return { dir: best[0], rel, path };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function openFile(path, syscall, openFlags, flags) {
  const at = locate(path, syscall);
  const fd = wasiCall(syscall, at.path, () =>
    at.dir.openAt({ symlinkFollow: false }, at.rel, openFlags, flags),
  );
  return { fd, path: at.path };
}

function readAll(fd, path) {
  const chunks = [];
  let offset = 0n;
  for (;;) {
    const [bytes, eof] = wasiCall('read', path, () => fd.read(65536n, offset));
    chunks.push(bytes);
    offset += BigInt(bytes.length);
    if (eof || bytes.length === 0) break;
  }
  const out = new Uint8Array(Number(offset));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function writeAll(fd, path, data, offset) {
  let bytes;
  if (ArrayBuffer.isView(data)) bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  else if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
  else bytes = encoder.encode(String(data));
  let at = BigInt(offset);
  while (bytes.length > 0) {
    const n = wasiCall('write', path, () => fd.write(bytes, at));
    bytes = bytes.subarray(Number(n));
    at += BigInt(n);
  }
}

function encodingOf(options) {
  return typeof options === 'string' ? options : options && options.encoding;
}

const fs = {
  readFileSync(path, options) {
    const { fd, path: p } = openFile(path, 'open', {}, { read: true });
    const bytes = readAll(fd, p);
    return encodingOf(options) ? decoder.decode(bytes) : bytes;
  },
  writeFileSync(path, data) {
    const { fd, path: p } = openFile(path, 'open', { create: true, truncate: true }, { write: true });
    writeAll(fd, p, data, 0n);
  },
  appendFileSync(path, data) {
    const { fd, path: p } = openFile(path, 'open', { create: true }, { write: true });
    const size = wasiCall('stat', p, () => fd.stat()).size;
    writeAll(fd, p, data, size);
  },
  existsSync(path) {
    try {
      fs.statSync(path);
      return true;
    } catch {
      return false;
    }
  },
  statSync(path) {
    const at = locate(path, 'stat');
    const s = wasiCall('stat', at.path, () => at.dir.statAt({ symlinkFollow: false }, at.rel));
    return {
      size: Number(s.size),
      isFile: () => s.type === 'regular-file',
      isDirectory: () => s.type === 'directory',
    };
  },
  readdirSync(path) {
    const { fd, path: p } = openFile(path, 'scandir', { directory: true }, { read: true });
    const stream = wasiCall('scandir', p, () => fd.readDirectory());
    const names = [];
    for (;;) {
      const entry = wasiCall('scandir', p, () => stream.readDirectoryEntry());
      if (!entry) break;
      names.push(entry.name);
    }
    return names.sort();
  },
  mkdirSync(path) {
    const at = locate(path, 'mkdir');
    wasiCall('mkdir', at.path, () => at.dir.createDirectoryAt(at.rel));
  },
  unlinkSync(path) {
    const at = locate(path, 'unlink');
    wasiCall('unlink', at.path, () => at.dir.unlinkFileAt(at.rel));
  },
};

function require(name) {
  if (name === 'fs' || name === 'node:fs') return fs;
  throw new Error(`Cannot find module '${name}' (only 'fs' is available in the sandbox)`);
}

// --- running code ---

function run(code) {
  const out = new Capped();
  const err = new Capped();
  const line = (args) => `${args.map((a) => inspect(a, false)).join(' ')}\n`;
  const saved = {};
  const streams = { log: out, info: out, debug: out, error: err, warn: err, trace: err };
  for (const [k, stream] of Object.entries(streams)) {
    saved[k] = console[k];
    console[k] = (...args) => stream.write(line(args));
  }
  globalThis.fs = fs;
  globalThis.require = require;
  let value = null;
  let error = null;
  try {
    // Indirect eval: global scope, and the completion value of the last statement.
    const result = (0, eval)(code);
    if (result !== undefined) value = inspect(result);
  } catch (e) {
    error =
      e instanceof Error
        ? { type: e.name || 'Error', message: String(e.message), traceback: errorText(e) }
        : { type: typeof e, message: inspect(e, false), traceback: `Uncaught ${inspect(e)}` };
  } finally {
    Object.assign(console, saved);
  }
  return { stdout: out.text('stdout'), stderr: err.text('stderr'), value, error };
}

export const guest = {
  manifest() {
    return JSON.stringify(MANIFEST);
  },
  call(name, input) {
    if (name !== 'run') throw `unknown tool ${name}`;
    let args;
    try {
      args = JSON.parse(input);
    } catch (e) {
      throw `invalid input for tool run: ${e.message}`;
    }
    if (!args || typeof args.code !== 'string') {
      throw 'invalid input for tool run: `code` must be a string';
    }
    return JSON.stringify(run(args.code));
  },
};
