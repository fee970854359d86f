// The native API against a real daemon: sessions, status, subscribe (live,
// resume, gaps, several on one connection), send outcomes, history,
// runtime sessions, every error class, and the default socket path.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import {
  AccessDeniedError, AlreadyExistsError, DaemonUnreachableError, Gap, InvalidArgumentError,
  Message, NotFoundError, QueueFullError, StateChange, WsbridgeError, connect, defaultSocketPath,
} from '../../clients/node/src/index.js';
import { CLIENT_DIR, SOURCE_ROOT, feed, injectAll, messages, take, waitFor, wsbTest } from './harness.mjs';

const run = promisify(execFile);

wsbTest('node_connect_unreachable_names_path_and_reason', async (h) => {
  const path = `${h.info.tmp}/nothing-here.sock`;
  await assert.rejects(connect(path), (err) => {
    assert.ok(err instanceof DaemonUnreachableError && err instanceof WsbridgeError);
    assert.equal(err.code, 'DAEMON_UNREACHABLE');
    assert.equal(err.socketPath, path);
    assert.match(err.message, new RegExp(`${path}: no such file or directory`));
    return true;
  });
  const long = `/tmp/${'x'.repeat(120)}.sock`;
  await assert.rejects(connect(long), /at most 107/);
  await assert.rejects(connect({ socket: 42 }), TypeError);
});

wsbTest('node_default_socket_path_follows_wsbridgectl', async (h) => {
  const daemon = await h.daemon();
  // The rule of wsbridgectl, checked against wsbridgectl itself: it names the
  // path it could not reach.
  const cases = [
    { XDG_RUNTIME_DIR: '/run/user/4242' },
    { XDG_RUNTIME_DIR: '/run/user/4242/', WSBRIDGE_SOCKET: '' },
    { XDG_RUNTIME_DIR: '', XDG_CACHE_HOME: '/c/cache' },
    { XDG_CACHE_HOME: 'relative/cache' },
    { HOME: '/h/home/' },
    { HOME: '' },
    { HOME: 'relhome' },
    {},
    { WSBRIDGE_SOCKET: '/tmp/from-env.sock', XDG_RUNTIME_DIR: '/r' },
  ];
  const base = { PATH: process.env.PATH };
  for (const env of cases) {
    const full = { ...base, ...env };
    const r = await run(daemon.h.info.ctl, ['status'], { env: full }).catch((e) => e);
    const said = /cannot reach wsbridged at (.*): /.exec(r.stderr)?.[1];
    assert.ok(said, `wsbridgectl with ${JSON.stringify(env)} said: ${r.stderr}`);
    assert.equal(defaultSocketPath(undefined, { env: full }), said, JSON.stringify(env));
    const sys = await run(daemon.h.info.ctl, ['--system', 'status'], { env: full }).catch((e) => e);
    assert.equal(defaultSocketPath('', { system: true, env: full }),
      /cannot reach wsbridged at (.*): /.exec(sys.stderr)[1], `--system with ${JSON.stringify(env)}`);
  }
  assert.equal(defaultSocketPath('/explicit.sock', { env: { WSBRIDGE_SOCKET: '/e' } }), '/explicit.sock');

  // connect() with no path finds the daemon through $WSBRIDGE_SOCKET.
  const saved = process.env.WSBRIDGE_SOCKET;
  process.env.WSBRIDGE_SOCKET = daemon.socket;
  try {
    const c = await connect();
    assert.equal(c.socketPath, daemon.socket);
    assert.deepEqual(await c.sessions(), []);
    await c.close();
  } finally {
    if (saved === undefined) delete process.env.WSBRIDGE_SOCKET;
    else process.env.WSBRIDGE_SOCKET = saved;
  }
});

wsbTest('node_sessions_and_status', async (h) => {
  const { server, daemon } = await feed(h);
  await daemon.ctlOk('add', 'idle', 'ws://127.0.0.1:9/', '--no-connect');
  const c = await h.connect(daemon.socket);
  assert.equal(c.daemon.uid, process.getuid());
  assert.equal(typeof c.daemon.version, 'string');
  const list = await c.sessions();
  assert.deepEqual(list.map((s) => s.name), ['feed', 'idle']);
  assert.equal(list[0].state, 'open');
  assert.equal(list[0].url, server.url);
  assert.equal(list[1].state, 'disconnected');
  const st = await c.status('feed');
  assert.ok(Number.isSafeInteger(st.epoch) && st.epoch > 0);
  assert.equal(st.lastSeq, 0);
  assert.match(st.reason, /connected/);
  for (const key of ['reconnects', 'rxMessages', 'txMessages', 'queuedMessages', 'rttUs', 'nextRetryUs'])
    assert.equal(typeof st[key], 'number', key);
  await c.close();
  assert.equal(c.state, 'closed');
  await assert.rejects(c.sessions(), (e) => e.code === 'CLOSED');
});

wsbTest('node_subscribe_live_text_binary_channels_and_break', async (h) => {
  const { server, daemon } = await feed(h, {
    channel_key: '/ch',
    subscribe_template: '{"op":"sub","ch":"{channel}"}',
    unsubscribe_template: '{"op":"unsub","ch":"{channel}"}',
  });
  const c = await h.connect(daemon.socket);
  const all = c.subscribe('feed');
  const eu = c.subscribe('feed', 'eu');
  const [[status]] = await Promise.all([once(eu, 'subscribed'), once(all, 'subscribed')]);
  await waitFor(async () => (await server.received()).includes('{"op":"sub","ch":"eu"}'),
    5000 * h.slow, 'the upstream subscribe frame');
  const before = Date.now() * 1000;
  await server.inject('{"ch":"eu","n":1}', '{"ch":"us","n":2}', Buffer.from([0, 1, 2, 255]));

  const got = messages(await take(all[Symbol.asyncIterator](), (i) => messages(i).length >= 3,
    5000 * h.slow, 'three messages on *'));
  // A message names the channel it was routed to, also on "*".
  assert.deepEqual(got.map((m) => [m.seq, m.channel, m.binary]), [[1, 'eu', false], [2, 'us', false], [3, '*', true]]);
  assert.ok(got[0] instanceof Message);
  assert.equal(got[0].data, '{"ch":"eu","n":1}');
  assert.equal(got[0].session, 'feed');
  assert.equal(got[0].epoch, status.epoch);
  assert.ok(Math.abs(got[0].timeUs - before) < 60e6, `timeUs ${got[0].timeUs}`);
  assert.deepEqual(got[2].data, Buffer.from([0, 1, 2, 255]));
  assert.equal(got[2].size, 4);
  assert.deepEqual(got[0].toJSON().data, '{"ch":"eu","n":1}');

  let first;
  for await (const item of eu) {
    if (item.type !== 'message') continue;
    first = item;
    break; // unsubscribes: the last local subscriber of "eu" leaves
  }
  assert.equal(first.channel, 'eu');
  assert.equal(first.seq, 1);
  assert.equal(first.data, '{"ch":"eu","n":1}');
  await waitFor(async () => (await server.received()).includes('{"op":"unsub","ch":"eu"}'),
    5000 * h.slow, 'the upstream unsubscribe frame after break');
  await c.close();
});

wsbTest('node_subscribe_as_event_emitter', async (h) => {
  const { server, daemon } = await feed(h);
  const c = await h.connect(daemon.socket);
  const sub = c.subscribe('feed');
  await once(sub, 'subscribed');
  const seen = [];
  sub.on('message', (m) => seen.push(m.data));
  await server.inject('a', 'b');
  await waitFor(() => seen.length === 2, 5000 * h.slow, 'two message events');
  // Paused, items wait; resumed, they come in order.
  sub.pause();
  await injectAll(h, c, server, ['c', 'd']);
  await waitFor(() => sub.buffered === 2, 5000 * h.slow, 'two items buffered while paused');
  assert.deepEqual(seen, ['a', 'b']);
  sub.resume();
  await waitFor(() => seen.length === 4, 5000 * h.slow, 'the buffered items after resume');
  assert.deepEqual(seen, ['a', 'b', 'c', 'd']);
  const states = [];
  sub.on('state', (s) => states.push(s));
  await c.disconnectSession('feed');
  await waitFor(() => states.some((s) => s.state === 'disconnected'), 5000 * h.slow, 'a state event');
  assert.ok(states[0] instanceof StateChange);
  assert.equal(states.at(-1).status.name, 'feed');
  const closed = once(sub, 'close');
  await sub.close();
  await closed;
  await c.close();
});

wsbTest('node_subscribe_resume_from_history', async (h) => {
  const { server, daemon } = await feed(h);
  const c = await h.connect(daemon.socket);
  const st = await injectAll(h, c, server, ['a', 'b', 'c', 'd', 'e']);
  const it = c.subscribe('feed', '*', { sinceSeq: 2, epoch: st.epoch })[Symbol.asyncIterator]();
  const replay = await take(it, (i) => i.length >= 3, 5000 * h.slow, 'the replay after seq 2');
  assert.deepEqual(replay.map((m) => [m.type, m.seq, m.data]), [['message', 3, 'c'], ['message', 4, 'd'], ['message', 5, 'e']]);
  await server.inject('f');
  const [live] = await take(it, (i) => i.length >= 1, 5000 * h.slow, 'the live message');
  assert.deepEqual([live.seq, live.data], [6, 'f']);
  await it.return();

  // sinceSeq 0 with the epoch: the whole epoch's history; a bigint or a string epoch is fine.
  const from0 = await take(c.subscribe('feed', '*', { epoch: BigInt(st.epoch) })[Symbol.asyncIterator](),
    (i) => i.length >= 6, 5000 * h.slow, 'the whole history');
  assert.deepEqual(from0.map((m) => m.seq), [1, 2, 3, 4, 5, 6]);
  const sub = c.subscribe('feed', '*', { sinceSeq: 5, epoch: String(st.epoch) });
  assert.deepEqual((await take(sub[Symbol.asyncIterator](), (i) => i.length >= 1, 5000 * h.slow, 'seq 6')).map((m) => m.seq), [6]);
  assert.deepEqual(sub.position, { seq: 6, epoch: st.epoch });

  // since_seq beyond the last seq of the epoch is the daemon's INVALID_ARGUMENT.
  await assert.rejects(take(c.subscribe('feed', '*', { sinceSeq: 99, epoch: st.epoch })[Symbol.asyncIterator](),
    () => false, 5000 * h.slow, 'an error'), InvalidArgumentError);
  await c.close();
});

wsbTest('node_gap_beyond_history_and_history', async (h) => {
  const { server, daemon } = await feed(h, { history_messages: 3 });
  const c = await h.connect(daemon.socket);
  const texts = Array.from({ length: 10 }, (_, i) => `m${i + 1}`);
  const st = await injectAll(h, c, server, texts);
  const items = await take(c.subscribe('feed', '*', { sinceSeq: 1, epoch: st.epoch })[Symbol.asyncIterator](),
    (i) => i.length >= 4, 5000 * h.slow, 'a gap and the history');
  assert.ok(items[0] instanceof Gap);
  assert.deepEqual([items[0].fromSeq, items[0].toSeq, items[0].epoch, items[0].previousEpoch], [2, 7, st.epoch, 0]);
  assert.deepEqual(items.slice(1).map((m) => m.data), ['m8', 'm9', 'm10']);

  const last5 = await c.history('feed', '*', { last: 5 });
  assert.deepEqual(last5.messages.map((m) => [m.seq, m.data]), [[8, 'm8'], [9, 'm9'], [10, 'm10']]);
  assert.deepEqual([last5.gap.fromSeq, last5.gap.toSeq], [6, 7]);
  assert.equal(last5.status.lastSeq, 10);
  const last2 = await c.history('feed', '*', { last: 2 });
  assert.deepEqual(last2.messages.map((m) => m.data), ['m9', 'm10']);
  assert.equal(last2.gap, null);
  await assert.rejects(c.history('nope'), NotFoundError);
  await c.close();
});

wsbTest('node_stale_epoch_is_one_gap_then_the_epoch_replayed', async (h) => {
  const { server, daemon } = await feed(h);
  const c = await h.connect(daemon.socket);
  const st = await injectAll(h, c, server, ['a', 'b', 'c']);
  const stale = st.epoch + 1;
  const it = c.subscribe('feed', '*', { sinceSeq: 3, epoch: stale })[Symbol.asyncIterator]();
  const items = await take(it, (i) => messages(i).length >= 3, 5000 * h.slow, 'the gap and the epoch');
  assert.ok(items[0] instanceof Gap);
  assert.deepEqual([items[0].fromSeq, items[0].toSeq, items[0].epoch, items[0].previousEpoch], [1, 0, st.epoch, stale]);
  assert.deepEqual(items.slice(1).map((m) => [m.seq, m.data]), [[1, 'a'], [2, 'b'], [3, 'c']]);
  await server.inject('d');
  const more = await take(it, (i) => i.length >= 1, 5000 * h.slow, 'the live message');
  assert.deepEqual(more.map((m) => [m.type, m.seq]), [['message', 4]]);
  await c.close();
});

wsbTest('node_send_outcomes', async (h) => {
  const { server, daemon } = await feed(h);
  await daemon.ctlOk('add', 'parked', 'ws://127.0.0.1:9/', '--no-connect', '-o', 'queue_max_messages=2');
  const c = await h.connect(daemon.socket);

  const sent = await c.send('feed', 'hello', { wait: true });
  assert.deepEqual(sent, { id: sent.id, outcome: 'sent', reason: '' });
  const bin = await c.send('feed', Buffer.from([1, 2, 3]), { wait: true });
  assert.equal(bin.outcome, 'sent');
  assert.equal(bin.id, sent.id + 1);
  const quick = await c.send('feed', new Uint8Array([104, 105]), { binary: false });
  assert.deepEqual(quick, { id: sent.id + 2 });
  await waitFor(async () => (await server.received()).length === 3, 5000 * h.slow, 'three sends upstream');
  assert.deepEqual(await server.received(), ['hello', Buffer.from([1, 2, 3]), 'hi']);

  // Waiting in the queue of a disconnected session: expires after its ttl.
  const expired = await c.send('parked', 'late', { wait: true, ttlMs: 50 });
  assert.equal(expired.outcome, 'expired');
  assert.notEqual(expired.reason, '');
  // The queue holds two: the third is refused at once (rejected).
  const waiting = [c.send('parked', 'one', { wait: true }), c.send('parked', 'two', { wait: true })];
  await assert.rejects(c.send('parked', 'three'), (e) => e instanceof QueueFullError && e.code === 'QUEUE_FULL');
  // Removing the session cancels what waits.
  await c.removeSession('parked');
  for (const r of await Promise.all(waiting)) assert.equal(r.outcome, 'cancelled');

  await assert.rejects(c.send('feed', Buffer.from([0xff, 0xfe]), { binary: false }), InvalidArgumentError);
  await assert.rejects(c.send('nope', 'x'), NotFoundError);
  assert.throws(() => c.send('feed', 42), TypeError);
  assert.throws(() => c.send('feed', 'x', { ttlMs: -1 }), RangeError);
  await c.close();
});

wsbTest('node_runtime_sessions', async (h) => {
  const { server, daemon } = await feed(h);
  const c = await h.connect(daemon.socket);
  const made = await c.createSession('made', server.url, {
    options: { autoconnect: false, headers: ['X-One: 1', 'X-Two: 2'], history_messages: 8 },
  });
  assert.equal(made.name, 'made');
  assert.equal(made.state, 'disconnected');
  await c.connectSession('made');
  await daemon.waitState('made', 'open');
  const handshakes = await server.events('handshake');
  assert.ok(handshakes.some((e) => e.headers['x-two'] === '2'), 'the headers reached the server');
  await c.disconnectSession('made');
  await daemon.waitState('made', 'disconnected');
  await c.removeSession('made');
  assert.deepEqual((await c.sessions()).map((s) => s.name), ['feed']);
  await c.close();
});

wsbTest('node_every_error_class_from_the_daemon', async (h) => {
  const { daemon } = await feed(h);
  const c = await h.connect(daemon.socket);
  await assert.rejects(c.status('nope'), (e) => e instanceof NotFoundError && e.code === 'NOT_FOUND'
    && /nope/.test(e.message));
  await assert.rejects(c.createSession('feed', 'ws://127.0.0.1:9/'), AlreadyExistsError);
  await assert.rejects(c.createSession('Bad Name', 'ws://127.0.0.1:9/'), InvalidArgumentError);
  await assert.rejects(c.createSession('x', 'ws://127.0.0.1:9/', { options: { ping_interval: 'soon' } }),
    (e) => e instanceof InvalidArgumentError && /ping_interval/.test(e.message));
  await assert.rejects(c.removeSession('feed'), InvalidArgumentError); // from a config file
  const sub = c.subscribe('nope');
  const [err] = await once(sub, 'error');
  assert.ok(err instanceof NotFoundError);
  await assert.rejects(take(c.subscribe('nope')[Symbol.asyncIterator](), () => false, 5000 * h.slow, 'an error'),
    NotFoundError);
  assert.throws(() => c.subscribe(''), TypeError);
  assert.throws(() => c.subscribe('feed', '*', { epoch: -1 }), RangeError);
  await c.close();
});

// NOT_FOUND and ACCESS_DENIED: a system instance, a client running as nobody.
wsbTest('node_access_denied_from_a_system_instance', async (h) => {
  const state = `${h.info.tmp}/system-state`;
  mkdirSync(state);
  const sys = await h.daemon({
    sessions: [
      { name: 'open', url: 'ws://127.0.0.1:9/', autoconnect: 'false', allow_users: 'nobody' },
      { name: 'closed', url: 'ws://127.0.0.1:9/', autoconnect: 'false' },
    ],
    env: { STATE_DIRECTORY: state },
    args: ['--system'],
  });
  for (const dir of [dirname(dirname(sys.socket)), dirname(sys.socket)]) chmodSync(dir, 0o755);
  // nobody runs a copy of the client: the checkout may be out of its reach.
  const client = await h.call('readable_copy', {
    name: 'node',
    sources: [`${CLIENT_DIR}/src`, `${CLIENT_DIR}/package.json`,
      [`${SOURCE_ROOT}proto/wsbridge.proto`, 'proto/wsbridge.proto'],
      [`${CLIENT_DIR}/node_modules/protobufjs`, 'node_modules/protobufjs'],
      [`${CLIENT_DIR}/node_modules/long`, 'node_modules/long']],
  });
  const script = `
    import { connect, AccessDeniedError, NotFoundError } from ${JSON.stringify(`${client}/src/index.js`)};
    const c = await connect(${JSON.stringify(sys.socket)});
    const names = (await c.sessions()).map((s) => s.name);
    let hidden = '';
    let denied = '';
    try { await c.send('closed', 'hi'); } catch (e) { hidden = e instanceof NotFoundError ? e.code + ': ' + e.message : String(e); }
    try { await c.createSession('mine', 'ws://127.0.0.1:9/'); } catch (e) { denied = e instanceof AccessDeniedError ? e.code + ': ' + e.message : String(e); }
    await c.close();
    console.log(JSON.stringify({ names, hidden, denied }));`;
  const { stdout } = await run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups',
    process.execPath, '--input-type=module', '-e', script], { cwd: '/' });
  const out = JSON.parse(stdout);
  assert.deepEqual(out.names, ['open']);
  // A session it may not use is, to it, one that does not exist.
  assert.equal(out.hidden, "NOT_FOUND: no session named 'closed'");
  assert.match(out.denied, /^ACCESS_DENIED: uid 65534 may not create sessions/);
}, { needsRoot: 'runs a client as another uid (nobody)' });

wsbTest('node_several_subscriptions_on_one_connection', async (h) => {
  const { server, daemon } = await feed(h, { channel_key: '/ch' });
  const c = await h.connect(daemon.socket);
  const subs = ['a', 'b', '*'].map((ch) => c.subscribe('feed', ch));
  await Promise.all(subs.map((s) => once(s, 'subscribed')));
  await server.inject('{"ch":"a"}', '{"ch":"b"}', '{"ch":"a"}');
  const iterators = subs.map((s) => s[Symbol.asyncIterator]());
  const got = await Promise.all(iterators.map((it, i) => take(it,
    (items) => items.length >= [2, 1, 3][i], 5000 * h.slow, `messages of ${subs[i].channel}`)));
  assert.deepEqual(got.map((items) => items.map((m) => m.seq)), [[1, 3], [2], [1, 2, 3]]);
  // Requests interleave with the events.
  const [list, st] = await Promise.all([c.sessions(), c.status('feed')]);
  assert.equal(list.length, 1);
  assert.equal(st.lastSeq, 3);
  await c.close();
  // Closing the client ends every iterator.
  for (const it of iterators) assert.deepEqual(await it.next(), { value: undefined, done: true });
});
