// The client examples of ws's README run as programs with only their
// import changed (and their URL: a session's), as ws-examples/README.md says.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CLIENT_DIR, waitFor, wsbTest } from './harness.mjs';

const EXAMPLES = fileURLToPath(new URL('ws-examples/', import.meta.url));
const OBSERVER = fileURLToPath(new URL('observe-ws.cjs', import.meta.url));

/** A daemon with session feed (ticks) and session echo (whatever the server receives, it sends back). */
async function setUp(h) {
  const ticking = await h.server('--send-interval', '0.05');
  const echo = await h.server();
  const daemon = await h.daemon({ sessions: [{ name: 'feed', url: ticking.url }, { name: 'echo', url: echo.url }] });
  await daemon.waitState('feed', 'open');
  await daemon.waitState('echo', 'open');
  let echoed = 0;
  let pumping = true;
  const pump = (async () => {
    while (pumping) {
      const got = await echo.received();
      if (got.length > echoed) await echo.inject(...got.slice(echoed));
      echoed = got.length;
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
  })();
  const dir = `${h.info.tmp}/project`;
  mkdirSync(`${dir}/node_modules`, { recursive: true });
  symlinkSync(CLIENT_DIR, `${dir}/node_modules/wsbridge`);
  writeFileSync(`${dir}/package.json`, JSON.stringify({ type: 'module', private: true }));
  for (const name of readdirSync(EXAMPLES)) writeFileSync(`${dir}/${name}`, readFileSync(`${EXAMPLES}${name}`));
  const stop = async () => {
    pumping = false;
    await pump;
  };
  return { ticking, echo, daemon, dir, stop };
}

/**
 * Runs example NAME; its output so far in .stdout, .stderr; .exited once it
 * exits; .events() the events of its WebSockets (observe-ws.cjs, preloaded).
 */
function start(env, name) {
  const log = `${env.dir}/${name}.events`;
  writeFileSync(log, '');
  const child = spawn(process.execPath, ['-r', OBSERVER, name], {
    cwd: env.dir, env: { ...process.env, WSBRIDGE_SOCKET: env.daemon.socket, WSB_OBSERVE: log },
  });
  const events = () => readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const p = { child, stdout: '', stderr: '', exited: null, events };
  child.stdout.on('data', (d) => { p.stdout += d; });
  child.stderr.on('data', (d) => { p.stderr += d; });
  p.exit = new Promise((resolve) => child.on('exit', (code, signal) => { p.exited = code ?? signal; resolve(p.exited); }));
  return p;
}

async function kill(p) {
  if (p.exited === null) p.child.kill();
  await p.exit;
}

/** Each example: what it does, checked. */
const checks = {
  async 'text.mjs'(h, env, p) {
    await waitFor(() => (p.stdout.match(/^received: msg \d+$/gm) ?? []).length >= 3, 10000 * h.slow,
      () => `three messages; stdout ${p.stdout} stderr ${p.stderr}`);
    await waitFor(async () => (await env.ticking.received()).includes('something'), 10000 * h.slow,
      'something at the server');
  },
  async 'binary.mjs'(h, env) {
    const expected = Buffer.from(new Float32Array([0, 0.5, 1, 1.5, 2]).buffer);
    await waitFor(async () => (await env.ticking.received()).some((m) => Buffer.isBuffer(m) && m.equals(expected)),
      10000 * h.slow, 'the Float32Array at the server');
  },
  async 'no-compression.mjs'(h, env, p) {
    // Compression is the session's (key compression): one warning says so.
    await waitFor(() => /WsbridgeWarning: the perMessageDeflate option .*session key: compression/.test(p.stderr),
      10000 * h.slow, () => `the warning; stderr ${p.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(p.exited, null, 'it stays connected');
  },
  async 'round-trip.mjs'(h, env, p) {
    await waitFor(() => (p.stdout.match(/^Round-trip time: \d+ ms$/gm) ?? []).length >= 2, 10000 * h.slow,
      () => `two round trips; stdout ${p.stdout} stderr ${p.stderr}`);
    assert.match(p.stdout, /^connected\n/);
  },
  async 'streams.mjs'(h, env, p) {
    p.child.stdin.write('hello through the stream\n');
    await waitFor(() => p.stdout.includes('hello through the stream\n'), 10000 * h.slow,
      () => `the echo; stdout ${p.stdout} stderr ${p.stderr}`);
  },
  async 'heartbeat.mjs'(h, env, p) {
    // The heartbeat terminates the connection 31 s after 'open' or the last
    // 'ping' (and the program then ends): a healthy session keeps it open.
    const [opened] = await waitFor(() => {
      const opens = p.events().filter((e) => e.event === 'open');
      return opens.length > 0 && opens;
    }, 20000 * h.slow,
      () => `the heartbeat's open; stderr ${p.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, opened.t + 34000 - Date.now()));
    assert.equal(p.exited, null, `terminated by its heartbeat; stderr ${p.stderr}`);
    const events = p.events().map((e) => e.event);
    assert.ok(events.filter((e) => e === 'ping').length >= 5, events.join(' '));
    assert.ok(!events.includes('close'), events.join(' '));
  },
};

wsbTest('node_ws_readme_examples_run_with_the_import_changed', async (h) => {
  const env = await setUp(h);
  const names = readdirSync(EXAMPLES).filter((f) => f.endsWith('.mjs')).sort();
  assert.deepEqual(names, Object.keys(checks).sort());
  const running = names.map((name) => [name, start(env, name)]);
  try {
    await Promise.all(running.map(async ([name, p]) => {
      try {
        await checks[name](h, env, p);
      } catch (err) {
        err.message = `${name}: ${err.message}`;
        throw err;
      }
      if (name !== 'no-compression.mjs') assert.equal(p.stderr, '', name);
      assert.equal(p.exited, null, `${name} still runs`);
    }));
  } finally {
    await Promise.all(running.map(([, p]) => kill(p)));
    await env.stop();
  }
}, { timeout: 150000 });
