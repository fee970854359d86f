// Daemon restarts under a running client: subscriptions resume from their
// seq/epoch with one gap for the restart and nothing twice; requests made
// meanwhile wait for the reconnect; a daemon gone for good ends everything
// with DaemonUnreachableError.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DaemonUnreachableError } from '../../clients/node/src/index.js';
import { feed, injectAll, messages, take, waitFor, wsbTest } from './harness.mjs';

const SUBSCRIBER = fileURLToPath(new URL('subscriber.mjs', import.meta.url));

/** Every message once, in order; the one gap, between the epochs. */
function checkAcrossRestart(items, texts, e1) {
  const gaps = items.filter((i) => i.type === 'gap');
  assert.equal(gaps.length, 1, `one gap, got ${JSON.stringify(gaps)}`);
  const [gap] = gaps;
  assert.equal(gap.previousEpoch, e1);
  assert.notEqual(gap.epoch, e1);
  assert.equal(gap.fromSeq, 1);
  const msgs = messages(items);
  assert.deepEqual(msgs.map((m) => m.data), texts);
  const at = items.indexOf(gap);
  for (const m of messages(items.slice(0, at))) assert.equal(m.epoch, e1);
  const after = messages(items.slice(at + 1));
  for (const m of after) assert.equal(m.epoch, gap.epoch);
  assert.deepEqual(after.map((m) => m.seq), after.map((_, i) => gap.toSeq + 1 + i));
  return gap;
}

wsbTest('node_daemon_restart_resumes_with_one_gap', async (h) => {
  const { server, daemon } = await feed(h);
  const c = await h.connect(daemon.socket, { reconnect: { initialMs: 20, maxMs: 200 } });
  const sub = c.subscribe('feed');
  const it = sub[Symbol.asyncIterator]();
  await once(sub, 'subscribed');
  await server.inject('a', 'b', 'c');
  const before = await take(it, (i) => messages(i).length >= 3, 5000 * h.slow, 'a, b and c');
  const e1 = messages(before)[0].epoch;

  const disconnected = once(c, 'disconnect');
  const reconnected = once(c, 'reconnect');
  assert.equal(await daemon.stop(), 0);
  await disconnected;
  assert.equal(c.state, 'reconnecting');
  const statusMeanwhile = c.status('feed'); // waits for the reconnect
  await daemon.start();
  await reconnected;
  await daemon.waitState('feed', 'open');
  await server.inject('d', 'e');
  const after = await take(it, (i) => messages(i).some((m) => m.data === 'e'), 10000 * h.slow, 'd and e');
  const gap = checkAcrossRestart([...before, ...after], ['a', 'b', 'c', 'd', 'e'], e1);
  assert.equal((await statusMeanwhile).epoch, gap.epoch);
  assert.ok(after.some((i) => i.type === 'state' && i.state === 'open'), 'the state after the reconnect');
  assert.deepEqual(sub.position, { seq: messages(after).at(-1).seq, epoch: gap.epoch });
});

/**
 * A subscriber process stopped across the restart: what the new epoch
 * received before it came back is replayed from the history, and the
 * daemon's gap for what the history lost is the one restart gap.
 */
async function restartUnderStoppedSubscriber(h, historyMessages, whileStopped) {
  const { server, daemon } = await feed(h, { history_messages: historyMessages });
  const child = spawn(process.execPath, [SUBSCRIBER, daemon.socket, 'feed', 'last'],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = [];
  createInterface({ input: child.stdout }).on('line', (l) => lines.push(l));
  try {
    await waitFor(() => lines.includes('READY'), 10000 * h.slow, 'the subscriber to subscribe');
    await server.inject('a', 'b');
    await waitFor(() => lines.length >= 3, 5000 * h.slow, 'a and b');
    child.kill('SIGSTOP');
    assert.equal(await daemon.stop(), 0);
    await daemon.start();
    await daemon.waitState('feed', 'open');
    const c = await h.connect(daemon.socket);
    await injectAll(h, c, server, [...whileStopped, 'last']);
    child.kill('SIGCONT');
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
  } finally {
    child.kill('SIGCONT');
    child.kill();
  }
  const items = lines.filter((l) => l !== 'READY').map((l) => JSON.parse(l));
  return items.filter((i) => i.type !== 'state');
}

wsbTest('node_daemon_restart_replays_the_new_epoch', async (h) => {
  const items = await restartUnderStoppedSubscriber(h, 64, ['c', 'd']);
  const e1 = items[0].epoch;
  const gap = checkAcrossRestart(items, ['a', 'b', 'c', 'd', 'last'], e1);
  assert.equal(gap.toSeq, 0, 'nothing of the new epoch is lost');
});

wsbTest('node_daemon_restart_gap_covers_the_lost_history', async (h) => {
  const items = await restartUnderStoppedSubscriber(h, 2, ['c', 'd', 'e', 'f']);
  const e1 = items[0].epoch;
  // The history of the new epoch holds f and last: c, d, e (1..3) are gone.
  const gap = checkAcrossRestart(items, ['a', 'b', 'f', 'last'], e1);
  assert.equal(gap.toSeq, 3);
});

wsbTest('node_daemon_gone_for_good', async (h) => {
  const { daemon } = await feed(h);
  await daemon.ctlOk('add', 'parked', 'ws://127.0.0.1:9/', '--no-connect');
  const c = await h.connect(daemon.socket, { reconnect: { initialMs: 20, maxMs: 100, giveUpMs: 800 } });
  const sub = c.subscribe('feed');
  const it = sub[Symbol.asyncIterator]();
  await once(sub, 'subscribed');
  const outcome = c.send('parked', 'never', { wait: true }).then(() => null, (e) => e);
  await waitFor(async () => JSON.parse((await daemon.ctl('status', '--json')).stdout)
    .find((s) => s.name === 'parked').queued === 1, 5000 * h.slow, 'the send in the queue');
  const closed = once(c, 'close');
  await daemon.kill(); // SIGKILL: no outcome for the queued send
  const lost = await outcome;
  assert.ok(lost instanceof DaemonUnreachableError, String(lost));
  assert.match(lost.message, /before the outcome of send 1 to parked/);
  await assert.rejects(take(it, (i) => i.some((x) => x.type === 'message'), 10000 * h.slow, 'the end'),
    (e) => e instanceof DaemonUnreachableError && /gave up reconnecting after 800 ms/.test(e.message)
      && e.socketPath === daemon.socket);
  const [err] = await closed;
  assert.ok(err instanceof DaemonUnreachableError);
  assert.equal(c.state, 'closed');
  await assert.rejects(c.sessions(), DaemonUnreachableError);
  assert.deepEqual(await it.next(), { value: undefined, done: true });

  // Without reconnects, the loss itself is the end. A daemon that stops
  // (SIGTERM) cancels the queue first, and says so.
  await daemon.start();
  const once2 = await h.connect(daemon.socket, { reconnect: false });
  await once2.createSession('parked2', 'ws://127.0.0.1:9/', { options: { autoconnect: false } });
  const cancelled = once2.send('parked2', 'never', { wait: true });
  const sub2 = once2.subscribe('feed');
  await once(sub2, 'subscribed');
  const failed = once(sub2, 'error');
  assert.equal(await daemon.stop(), 0);
  assert.equal((await cancelled).outcome, 'cancelled');
  const [e2] = await failed;
  assert.ok(e2 instanceof DaemonUnreachableError);
  assert.match(e2.message, /the daemon closed the connection/);
});
