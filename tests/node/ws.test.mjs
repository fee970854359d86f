// The ws-shaped WebSocket: a ws app switched by its import and its URL, and
// the details of the face (events, attributes, readyState, send, close).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DaemonUnreachableError, NotFoundError, WebSocket } from '../../clients/node/src/index.js';
import { CLIENT_DIR, feed, waitFor, wsbTest } from './harness.mjs';

const run = promisify(execFile);

/** [the error, the close code] of a WebSocket that fails (ws emits 'close' right after 'error'). */
const errorThenClose = (ws) => new Promise((resolve) => {
  let error = null;
  ws.once('error', (e) => { error = e; });
  ws.once('close', (code) => resolve([error, code]));
});
const APP = fileURLToPath(new URL('ws-app.mjs', import.meta.url));

wsbTest('node_ws_app_switched_by_import_and_url', async (h) => {
  const server = await h.server('--send-interval', '0.05');
  const daemon = await h.daemon({ sessions: [{ name: 'feed', url: server.url }] });
  await daemon.waitState('feed', 'open');

  // A project that has both packages, as an app moving over would.
  const dir = `${h.info.tmp}/app`;
  mkdirSync(`${dir}/node_modules`, { recursive: true });
  symlinkSync(`${CLIENT_DIR}/node_modules/ws`, `${dir}/node_modules/ws`);
  symlinkSync(CLIENT_DIR, `${dir}/node_modules/wsbridge`);
  const original = readFileSync(APP, 'utf8');
  const bridged = original.replace("import WebSocket from 'ws';", "import WebSocket from 'wsbridge/ws';");
  assert.notEqual(bridged, original);
  writeFileSync(`${dir}/app.mjs`, original);
  writeFileSync(`${dir}/app-bridged.mjs`, bridged);
  const env = { ...process.env, WSBRIDGE_SOCKET: daemon.socket };

  const direct = await run(process.execPath, [`${dir}/app.mjs`, server.url], { env, timeout: 20000 * h.slow });
  const shared = await run(process.execPath, [`${dir}/app-bridged.mjs`, 'wsbridge://feed'], { env, timeout: 20000 * h.slow });
  for (const out of [direct, shared]) {
    const lines = out.stdout.trim().split('\n');
    assert.equal(lines.length, 4, out.stdout);
    lines.slice(0, 3).forEach((l) => assert.match(l, /^received: msg \d+$/));
    assert.equal(lines[3], 'disconnected');
    assert.equal(out.stderr, '');
  }
  // Both said "something": the app itself, then the daemon's session for it.
  const said = (await server.events('message')).filter((e) => e.data === 'something').map((e) => e.conn);
  assert.equal(said.length, 2);
  const conns = (await server.events('connect')).map((e) => e.conn);
  assert.ok(said.every((c) => conns.includes(c)));
  assert.equal(new Set(said).size, 2, 'one from the app, one through the session');
});

wsbTest('node_ws_face_events_send_and_close', async (h) => {
  const { server, daemon } = await feed(h, { channel_key: '/ch' });
  const options = { socket: daemon.socket };
  const ws = new WebSocket('wsbridge://feed/eu', options);
  assert.equal(ws.readyState, WebSocket.CONNECTING);
  assert.equal(ws.url, 'wsbridge://feed/eu');
  assert.throws(() => ws.send('early'), /not open: readyState 0 \(CONNECTING\)/);
  const events = [];
  ws.onopen = (e) => events.push(['onopen', e.type]);
  ws.addEventListener('message', (e) => events.push(['listener', e.data]));
  const counted = () => events.push(['removed']);
  ws.addEventListener('message', counted);
  ws.removeEventListener('message', counted);
  ws.on('message', (data, isBinary) => events.push(['on', Buffer.isBuffer(data), isBinary, data.toString()]));
  await once(ws, 'open');
  assert.equal(ws.readyState, WebSocket.OPEN);
  assert.equal(ws.OPEN, 1);

  await server.inject('{"ch":"eu","n":1}', '{"ch":"us","n":2}', '{"ch":"eu","n":3}');
  await waitFor(() => events.filter((e) => e[0] === 'on').length === 2, 5000 * h.slow, 'two messages of eu');
  assert.deepEqual(events, [
    ['onopen', 'open'],
    ['listener', '{"ch":"eu","n":1}'], ['on', true, false, '{"ch":"eu","n":1}'],
    ['listener', '{"ch":"eu","n":3}'], ['on', true, false, '{"ch":"eu","n":3}'],
  ]);

  // Binary, with binaryType arraybuffer, on "*".
  const all = new WebSocket('wsbridge://feed', options);
  all.binaryType = 'arraybuffer';
  await once(all, 'open');
  const got = once(all, 'message');
  await server.inject(Buffer.from([9, 8, 7]));
  const [data, isBinary] = await got;
  assert.ok(isBinary);
  assert.ok(data instanceof ArrayBuffer);
  assert.deepEqual([...new Uint8Array(data)], [9, 8, 7]);

  // send: text and binary reach the server; the callback says accepted.
  await new Promise((resolve, reject) => ws.send('up', (err) => (err ? reject(err) : resolve())));
  await new Promise((resolve, reject) => ws.send(Buffer.from([1, 2]), {}, (err) => (err ? reject(err) : resolve())));
  ws.send(42);
  await waitFor(async () => (await server.received()).length === 3, 5000 * h.slow, 'three sends');
  assert.deepEqual(await server.received(), ['up', Buffer.from([1, 2]), '42']);

  // ping: the daemon answers for the session, which is open.
  const pong = once(ws, 'pong');
  ws.ping('p1');
  assert.equal((await pong)[0].toString(), 'p1');

  // close with a code and reason; the session stays for the others.
  // The codes ws refuses (1001–1014 and 3000–4999 it takes: ws-peer.test.mjs).
  for (const code of [999, 1004, 1005, 1006, 1015, 2999, 5000, '1000'])
    assert.throws(() => ws.close(code), TypeError, String(code));
  assert.throws(() => ws.close(1000, 'x'.repeat(124)), RangeError);
  assert.equal(ws.readyState, WebSocket.OPEN);
  const closed = new Promise((resolve) => { ws.onclose = resolve; });
  ws.close(4000, 'bye');
  assert.equal(ws.readyState, WebSocket.CLOSING);
  const ev = await closed;
  assert.deepEqual([ev.code, ev.reason, ev.wasClean], [4000, 'bye', true]);
  assert.equal(ws.readyState, WebSocket.CLOSED);
  const err = await new Promise((resolve) => ws.send('late', resolve));
  assert.match(err.message, /readyState 3 \(CLOSED\)/);
  const [code, reason] = await new Promise((resolve) => { all.on('close', (...a) => resolve(a)); all.close(); });
  assert.deepEqual([code, reason.length], [1005, 0]);
  assert.equal((await daemon.waitState('feed', 'open')).state, 'open');
});

wsbTest('node_ws_face_errors_and_daemon_gone', async (h) => {
  const { daemon } = await feed(h);
  for (const bad of ['ws://127.0.0.1/', 'wsbridge://Bad', 'wsbridge://feed:80', 'not a url', 'wsbridge://feed/x?since=1'])
    assert.throws(() => new WebSocket(bad, { socket: daemon.socket }), SyntaxError, bad);

  const unknown = new WebSocket('wsbridge://nope', { socket: daemon.socket });
  const order = [];
  unknown.on('open', () => order.push('open'));
  const [err, code] = await errorThenClose(unknown);
  assert.ok(err instanceof NotFoundError);
  assert.equal(code, 1006);
  assert.deepEqual(order, []);

  const unreachable = new WebSocket('wsbridge://feed', { socket: `${h.info.tmp}/none.sock` });
  const [e2, code2] = await errorThenClose(unreachable);
  assert.ok(e2 instanceof DaemonUnreachableError);
  assert.equal(code2, 1006);

  // Closed while connecting: 'error' and 'close' as ws does.
  const early = new WebSocket('wsbridge://feed', { socket: daemon.socket });
  early.close();
  const [e3, code3] = await errorThenClose(early);
  assert.match(e3.message, /closed before the connection was established/);
  assert.equal(code3, 1006);

  // Sticky (an explicit option): through a daemon restart the socket stays
  // open (a gap and states on the side); gone for good, it closes with 1006
  // after an error. (Without, the restart closes it: ws-lifecycle.test.mjs.)
  const ws = new WebSocket('wsbridge://feed', {
    socket: daemon.socket, sticky: true, reconnect: { initialMs: 20, maxMs: 100, giveUpMs: 3000 },
  });
  await once(ws, 'open');
  const gaps = [];
  ws.on('gap', (g) => gaps.push(g));
  let closedEarly = false;
  ws.on('close', () => { closedEarly = true; });
  const ended = errorThenClose(ws);
  await daemon.stop();
  await daemon.start();
  await waitFor(() => gaps.length === 1, 10000 * h.slow, 'the restart gap');
  assert.ok(!closedEarly);
  assert.equal(ws.readyState, WebSocket.OPEN);
  await daemon.stop();
  const [finalError, finalCode] = await ended;
  assert.ok(finalError instanceof DaemonUnreachableError);
  assert.match(finalError.message, /gave up reconnecting/);
  assert.equal(finalCode, 1006);
});
