// The Node tests' side of the harness: harness.py (wsbtest.Harness) starts
// the real daemon and ws_server.py; this drives it and registers the cases.
//
// wsbTest(name, fn) registers one node:test case. Meson runs each case as
// its own test: `node FILE` with WSB_NODE_CASE=name, which registers only
// that case, and fails when the file has no case of that name. (Not
// `node --test FILE`: its runner turns a case's exit status 77, Meson's SKIP,
// into a failure.)
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { connect } from '../../clients/node/src/index.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
export const SOURCE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLIENT_DIR = `${SOURCE_ROOT}clients/node`;
export const PYTHON = '/usr/bin/python3';

if (!process.env.WSB_BUILD_ROOT)
  throw new Error('set WSB_BUILD_ROOT to the Meson build directory (meson test does)');

class Daemon {
  constructor(h, info) {
    this.h = h;
    this.index = info.index;
    this.socket = info.socket;
    this.configDir = info.config_dir;
    /** The environment the daemon runs with (XDG_RUNTIME_DIR, …). */
    this.env = info.env;
  }

  start() { return this.h.call('daemon_start', { index: this.index }); }
  stop() { return this.h.call('daemon_stop', { index: this.index }); }
  kill() { return this.h.call('daemon_kill', { index: this.index }); }
  waitLog(pattern, count = 1) { return this.h.call('daemon_wait_log', { index: this.index, pattern, count }); }

  /** Poll (wsbridgectl status) until session NAME is in one of STATES; returns its status. */
  waitState(name, states, timeout = 5) {
    return this.h.call('daemon_wait_state', { index: this.index, name, states: [].concat(states), timeout });
  }

  /** wsbridgectl --socket SOCKET ARGS…: { rc, stdout, stderr }. */
  ctl(...args) { return this.h.call('daemon_ctl', { index: this.index, args: args.map(String) }); }

  async ctlOk(...args) {
    const r = await this.ctl(...args);
    assert.equal(r.rc, 0, `wsbridgectl ${args.join(' ')}: ${r.stderr}`);
    return r;
  }
}

class Server {
  constructor(h, info) {
    this.h = h;
    this.name = info.name;
    this.port = info.port;
    this.url = info.url;
  }

  /** Makes the server send these (strings: text, Buffers: binary, {burst: N, …}) to every connection. */
  inject(...items) {
    return this.h.call('server_inject', {
      name: this.name,
      items: items.map((i) => (Buffer.isBuffer(i) ? { b64: i.toString('base64') } : i)),
    });
  }

  /** What the server received from its clients, in order (text as strings, binary as Buffers). */
  async received() {
    const items = await this.h.call('server_received', { name: this.name });
    return items.map((i) => (typeof i === 'string' ? i : Buffer.from(i.b64, 'base64')));
  }

  events(kind) { return this.h.call('server_events', { name: this.name, kind }); }
  kill() { return this.h.call('server_kill', { name: this.name }); }
  /** SIGTERM: the server closes its connections with 1012 "server restart" and exits. */
  terminate() { return this.h.call('server_terminate', { name: this.name }); }
  /** Starts a killed or terminated server again, on the same port. */
  restart() { return this.h.call('server_restart', { name: this.name }); }
}

export class Harness {
  #proc;
  #replies = [];
  #waiting = [];
  #queue = Promise.resolve();
  #clients = [];

  static async start() {
    const h = new Harness();
    h.info = await h.call('hello');
    return h;
  }

  constructor() {
    this.#proc = spawn(PYTHON, [`${HERE}harness.py`], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
    });
    this.#proc.on('exit', (code) => {
      for (const w of this.#waiting.splice(0)) w.reject(new Error(`harness.py exited with ${code}`));
    });
    createInterface({ input: this.#proc.stdout }).on('line', (line) => {
      const w = this.#waiting.shift();
      if (w) w.resolve(JSON.parse(line));
    });
  }

  /** One request to harness.py; requests run one at a time, in order. */
  call(op, args = {}) {
    const run = () => new Promise((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      this.#proc.stdin.write(`${JSON.stringify({ op, ...args })}\n`);
    }).then((reply) => {
      if ('error' in reply) throw new Error(`harness: ${reply.error}`);
      return reply.ok;
    });
    const result = this.#queue.then(run);
    this.#queue = result.catch(() => {});
    return result;
  }

  /** Deadlines stretch under valgrind (WSB_DAEMON_WRAPPER). */
  get slow() { return this.info.slow; }

  /** ws_server.py ARGS…, on port 0. */
  async server(...args) { return new Server(this, await this.call('server', { args: args.map(String) })); }

  /**
   * A wsbridged with one [session] group per entry of sessions ({ name, url,
   * more keys }; fast backoff unless given), and EXTRA config text first.
   */
  async daemon({ sessions = [], extra = '', env, args = [], start = true } = {}) {
    return new Daemon(this, await this.call('daemon', { sessions, extra, env, args, start }));
  }

  logs() { return this.call('logs'); }

  /** connect(), and close the client at the end of the test. */
  async connect(...args) {
    const client = await connect(...args);
    this.#clients.push(client);
    return client;
  }

  /** Stops everything; throws when a daemon did not exit cleanly or logged trouble. */
  async close() {
    await Promise.all(this.#clients.map((c) => c.close()));
    const problems = await this.call('close');
    await new Promise((resolve) => (this.#proc.exitCode !== null ? resolve() : this.#proc.once('exit', resolve)));
    assert.deepEqual(problems, [], `teardown found problems:\n  ${problems.join('\n  ')}`);
  }
}

/** Polls predicate() (may be async) until it returns something truthy; returns that. */
export async function waitFor(predicate, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${typeof what === 'function' ? what() : what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Takes items from an async iterator until pred(items) holds (or the time is up). */
export async function take(iterator, pred, timeoutMs, what) {
  const items = [];
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(
      `timed out after ${timeoutMs / 1000} s waiting for ${what}; got ${items.length} items: ` +
      `${items.slice(-5).map(describe).join(', ')}`)), timeoutMs);
  });
  try {
    while (!pred(items)) {
      const r = await Promise.race([iterator.next(), timeout]);
      if (r.done) throw new Error(`the iterator ended while waiting for ${what}; got ${items.map(describe).join(', ')}`);
      items.push(r.value);
    }
    return items;
  } finally {
    clearTimeout(timer);
  }
}

export const messages = (items) => items.filter((i) => i.type === 'message');

/** A ws_server.py and a daemon with session "feed" (more session keys in KEYS) to it, open. */
export async function feed(h, keys = {}, daemonOptions = {}) {
  const server = await h.server();
  const daemon = await h.daemon({ sessions: [{ name: 'feed', url: server.url, ...keys }], ...daemonOptions });
  await daemon.waitState('feed', 'open');
  return { server, daemon };
}

/** Injects TEXTS and waits until the daemon has numbered them all; returns the status then. */
export async function injectAll(h, c, server, texts) {
  const before = (await c.status('feed')).lastSeq;
  await server.inject(...texts);
  return waitFor(async () => {
    const st = await c.status('feed');
    return st.lastSeq >= before + texts.length && st;
  }, 5000 * h.slow, `${texts.length} messages at the daemon`);
}

export function describe(item) {
  if (item.type === 'message') return `message ${item.seq} ${item.binary ? `<${item.size} bytes>` : JSON.stringify(item.data)}`;
  if (item.type === 'gap') return `gap ${item.fromSeq}..${item.toSeq} epoch ${item.epoch}`;
  return `state ${item.state} (${item.reason})`;
}

const selected = process.env.WSB_NODE_CASE;
let found = false;
if (selected) {
  process.on('exit', () => {
    if (!found) {
      console.error(`no test case named ${selected} in ${process.argv[1]}`);
      process.exitCode = 1;
    }
  });
}

/**
 * Registers test case NAME: fn(h, t) gets a fresh Harness; on failure the
 * logs of the daemons and servers are printed; at the end every daemon must
 * stop cleanly. A case that needs root (needsRoot: why) is skipped when not
 * root with the line "needs root: why"; run alone (Meson), it exits 77.
 */
export function wsbTest(name, fn, { timeout = 60000, needsRoot = null } = {}) {
  if (selected && selected !== name) return;
  found = true;
  const skip = needsRoot && process.geteuid() !== 0 ? `needs root: ${needsRoot}` : false;
  if (skip && selected) {
    console.log(skip);
    process.exit(77);
  }
  test(name, { timeout: timeout + 30000, skip }, async (t) => {
    const h = await Harness.start();
    let timer;
    const hung = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the test did not finish within ${timeout / 1000} s`)),
        timeout * h.slow);
    });
    try {
      await Promise.race([fn(h, t), hung]);
    } catch (err) {
      console.error('the test failed:', err);
      console.error(await h.logs().catch((e) => `(no logs: ${e.message})`));
      await h.close().catch((e) => console.error(e.message));
      throw err;
    } finally {
      clearTimeout(timer);
    }
    await h.close();
  });
}
