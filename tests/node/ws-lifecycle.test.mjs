// The ws face mirrors the life of the session's upstream connection, as ws
// shows its own socket's: 'open' when the session is open (with what that
// connection opened with), 'close' with the server's code when it ends
// (1006 for a drop), and a new WebSocket afterwards opens when the session
// is open again. So an app that subscribes in 'open' and reconnects in
// 'close' keeps receiving after every upstream restart.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { WebSocket, connect } from '../../clients/node/src/index.js';
import { feed, waitFor, wsbTest } from './harness.mjs';

/**
 * The everyday ws app: subscribe in 'open', reconnect a moment after
 * 'close'. Its log: 'open', the messages, 'close CODE REASON'.
 */
function reconnectingApp(url, options) {
  const log = [];
  const app = { log, stopped: false, ws: null };
  const start = () => {
    const ws = new WebSocket(url, options);
    app.ws = ws;
    ws.on('error', (err) => log.push(`error ${err.message}`));
    ws.on('open', () => {
      log.push('open');
      ws.send('{"op":"subscribe","channel":"ticks"}');
    });
    ws.on('message', (data, isBinary) => log.push(isBinary ? '<binary>' : data.toString()));
    ws.on('close', (code, reason) => {
      assert.ok(Buffer.isBuffer(reason));
      log.push(`close ${code} ${reason}`);
      if (!app.stopped) setTimeout(start, 50);
    });
  };
  start();
  return app;
}

/** The messages after the last 'open' of LOG. */
const sinceOpen = (log) => log.slice(log.lastIndexOf('open') + 1);
const ticks = (items) => items.filter((l) => /^msg \d+$/.test(l));

wsbTest('node_ws_app_resubscribes_after_every_upstream_restart', async (h) => {
  const server = await h.server('--tick-after-subscribe', '--send-interval', '0.05', '--greeting', 'welcome {conn}');
  const daemon = await h.daemon({ sessions: [{ name: 'feed', url: server.url }] });
  await daemon.waitState('feed', 'open');
  const app = reconnectingApp('wsbridge://feed', { socket: daemon.socket });
  const conns = async () => (await server.events('connect')).map((e) => e.conn);
  const [first] = await conns();

  const opens = () => app.log.filter((l) => l === 'open').length;
  const ticking = (n, o) => waitFor(() => opens() === o && ticks(sinceOpen(app.log)).length >= n, 10000 * h.slow,
    () => `open ${o} and ${n} ticks after it; log: ${app.log.slice(-8).join(' | ')}`);
  try {
    await reconnects(app, h, server, conns, ticking, first);
  } finally {
    app.stopped = true;
  }
  const closed = once(app.ws, 'close');
  app.ws.close();
  await closed;
});

async function reconnects(app, h, server, conns, ticking, first) {
  await ticking(3, 1);
  assert.deepEqual(app.log.slice(0, 2), ['open', `welcome ${first}`], 'the greeting of the connection first');

  // A server restart (it closes with 1012), then a crash (no close frame: 1006).
  const expected = ['close 1012 server restart', 'close 1006 '];
  for (const [i, stop] of [() => server.terminate(), () => server.kill()].entries()) {
    await stop();
    await waitFor(() => app.log.includes(expected[i]), 10000 * h.slow,
      () => `'${expected[i]}'; log: ${app.log.slice(-8).join(' | ')}`);
    await server.restart();
    await ticking(3, i + 2);
    const all = await conns();
    assert.equal(all.length, i + 2);
    assert.equal(sinceOpen(app.log)[0], `welcome ${all.at(-1)}`, 'the new connection\'s greeting first');
  }
  assert.equal(app.log.filter((l) => l === 'open').length, 3);
  assert.deepEqual(app.log.filter((l) => l.startsWith('close')), expected);
  assert.deepEqual(app.log.filter((l) => l.startsWith('error')), []);
  // Each connection was subscribed by the app itself.
  const said = await server.events('message');
  for (const conn of await conns())
    assert.ok(said.some((e) => e.conn === conn && /subscribe/.test(e.data)), `a subscribe on ${conn}`);
}

wsbTest('node_ws_face_opened_later_sees_the_opening_messages', async (h) => {
  const server = await h.server('--greeting', 'welcome {conn}', '--send-interval', '0.02');
  const daemon = await h.daemon({ sessions: [{ name: 'feed', url: server.url, opening_messages: 3 }] });
  await daemon.waitState('feed', 'open');
  const c = await h.connect(daemon.socket);
  await waitFor(async () => (await c.status('feed')).lastSeq >= 10, 10000 * h.slow, 'ten messages');
  const [conn] = (await server.events('connect')).map((e) => e.conn);

  const ws = new WebSocket('wsbridge://feed', { socket: daemon.socket });
  const got = [];
  ws.on('message', (data) => got.push(data.toString()));
  await once(ws, 'open');
  await waitFor(() => got.length >= 5, 5000 * h.slow, 'five messages');
  assert.deepEqual(got.slice(0, 3), [`welcome ${conn}`, 'msg 1', 'msg 2']);
  const n = (s) => Number(s.split(' ')[1]);
  assert.ok(n(got[3]) >= 9, `then live ones: ${got.join(', ')}`);
  assert.equal(n(got[4]), n(got[3]) + 1);
  ws.close();
  await once(ws, 'close');
});

wsbTest('node_ws_close_has_the_server_code_and_a_new_socket_waits_for_open', async (h) => {
  const server = await h.server('--close-after', '0.5', '--close-code', '4001', '--greeting', 'hi {conn}');
  const daemon = await h.daemon({
    sessions: [{ name: 'feed', url: server.url, backoff_initial_ms: 700, backoff_max_ms: 700 }],
  });
  await daemon.waitState('feed', 'open');
  const ws = new WebSocket('wsbridge://feed', { socket: daemon.socket });
  const events = [];
  ws.onclose = (e) => events.push(['onclose', e.code, e.reason, e.wasClean]);
  ws.addEventListener('close', (e) => events.push(['listener', e.code, e.reason]));
  await once(ws, 'open');
  const [code, reason] = await once(ws, 'close');
  assert.equal(code, 4001);
  assert.ok(Buffer.isBuffer(reason));
  assert.equal(reason.toString(), 'server says bye');
  assert.equal(ws.readyState, WebSocket.CLOSED);
  assert.deepEqual(events, [['onclose', 4001, 'server says bye', true], ['listener', 4001, 'server says bye']]);
  const err = await new Promise((resolve) => ws.send('late', resolve));
  assert.match(err.message, /readyState 3 \(CLOSED\)/);

  // With the server down the session stays in backoff (its retries are
  // jittered from 0 ms, so only a server that is away keeps it there): a new
  // WebSocket waits, then opens with the next connection (and its
  // greeting), then ends with it.
  await server.kill();
  const next = new WebSocket('wsbridge://feed', { socket: daemon.socket });
  const got = [];
  next.on('message', (data) => got.push(data.toString()));
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(next.readyState, WebSocket.CONNECTING);
  await server.restart();
  await once(next, 'open');
  const [code2] = await once(next, 'close');
  assert.equal(code2, 4001);
  const conns = (await server.events('connect')).map((e) => e.conn);
  assert.deepEqual(got, [`hi ${conns[conns.length - 1]}`]);
});

wsbTest('node_ws_daemon_gone_closes_with_1006_and_sticky_keeps_the_old_way', async (h) => {
  const { daemon } = await feed(h);
  const ws = new WebSocket('wsbridge://feed', { socket: daemon.socket });
  await once(ws, 'open');
  const errors = [];
  ws.on('error', (e) => errors.push(e));
  const closed = once(ws, 'close');
  assert.equal(await daemon.stop(), 0);
  // The daemon closes the upstream connection as it stops (1001 going
  // away), and that is how the face's connection ended.
  const [code, reason] = await closed;
  assert.deepEqual([code, errors], [1001, []]);
  assert.ok(reason.length > 0);
  await daemon.start();
  await daemon.waitState('feed', 'open');
  const again = new WebSocket('wsbridge://feed', { socket: daemon.socket });
  await once(again, 'open');
  again.terminate();
  assert.deepEqual((await once(again, 'close')).slice(0, 1), [1006]);
});

wsbTest('node_native_subscribe_opening_and_status_close_code', async (h) => {
  // The native API under the face: subscribe({ opening }) and SessionStatus.closeCode/closeReason.
  const server = await h.server('--greeting', 'welcome {conn}', '--send-interval', '0.02',
    '--close-after', '1.5', '--close-code', '4001');
  const daemon = await h.daemon({ sessions: [{ name: 'feed', url: server.url, opening_messages: 2 }] });
  await daemon.waitState('feed', 'open');
  const c = await h.connect(daemon.socket);
  assert.deepEqual([(await c.status('feed')).closeCode, (await c.status('feed')).closeReason], [0, '']);
  assert.throws(() => c.subscribe('feed', '*', { opening: 'yes' }), TypeError);
  assert.throws(() => c.subscribe('feed', '*', { opening: true, epoch: 5 }), TypeError);
  await waitFor(async () => (await c.status('feed')).lastSeq >= 5, 5000 * h.slow, 'five messages');
  const [conn] = (await server.events('connect')).map((e) => e.conn);
  const sub = c.subscribe('feed', '*', { opening: true });
  const got = [];
  sub.on('message', (m) => got.push(m));
  const left = new Promise((resolve) => sub.on('state', (s) => { if (s.state !== 'open' && s.state !== 'closing') resolve(s); }));
  await waitFor(() => got.length >= 4, 5000 * h.slow, 'four messages');
  assert.deepEqual(got.slice(0, 2).map((m) => m.data), [`welcome ${conn}`, 'msg 1']);
  assert.deepEqual(got.slice(0, 2).map((m) => m.seq), [1, 2]);
  assert.ok(got[2].seq >= 6 && got[3].seq === got[2].seq + 1, got.map((m) => m.seq).join(' '));
  const change = await left;
  assert.deepEqual([change.status.closeCode, change.status.closeReason], [4001, 'server says bye']);
  await sub.close();
});

wsbTest('node_ws_closes_with_1001_when_the_session_is_removed', async (h) => {
  const server = await h.server('--greeting', 'hi');
  const daemon = await h.daemon({ sessions: [] });
  const c = await connect(daemon.socket);
  await c.createSession('r', server.url);
  await daemon.waitState('r', 'open');
  const ws = new WebSocket('wsbridge://r', { socket: daemon.socket });
  await once(ws, 'open');
  const closed = once(ws, 'close');
  await c.removeSession('r');
  const [code, reason] = await closed;
  assert.equal(code, 1001);
  assert.equal(reason.toString(), 'session removed');
  assert.equal(ws.readyState, WebSocket.CLOSED);
  await c.close();
});
