// A typed use of every API, checked by `tsc --noEmit` (npm run typecheck;
// the test node_typescript_declarations). Not shipped.
import {
  connect, DaemonUnreachableError, Gap, Message, NotFoundError, WebSocket, WsbridgeError,
  type Item, type SessionStatus,
} from 'wsbridge';
import DefaultWebSocket from 'wsbridge/ws';

export async function main(): Promise<void> {
  const c = await connect({ reconnect: { initialMs: 50, maxMs: 2000, giveUpMs: Infinity } });
  c.on('disconnect', (err) => console.warn(`lost the daemon: ${err.message}`));
  c.on('reconnect', (daemon) => console.log(`back, daemon ${daemon.version} pid ${daemon.pid}`));

  const sessions: SessionStatus[] = await c.sessions();
  for (const s of sessions) console.log(s.name, s.state, s.reason, s.lastSeq);
  const st = await c.status('demo');

  for await (const item of c.subscribe('demo', 'eu', { sinceSeq: st.lastSeq, epoch: st.epoch })) {
    const it: Item = item;
    if (it.type === 'message') {
      const m: Message = it;
      const text: string = typeof m.data === 'string' ? m.data : m.data.toString('base64');
      console.log(m.seq, m.epoch, m.timeUs, m.channel, text, m.raw.length);
      break;
    } else if (it.type === 'gap') {
      const g: Gap = it;
      console.log(`lost ${g.fromSeq}..${g.toSeq}`, g.previousEpoch ? 'after a restart' : '');
    } else {
      console.log(it.state, it.reason, it.status.rttUs);
    }
  }

  const sub = c.subscribe('demo');
  sub.on('message', (m) => console.log(m.data));
  sub.on('gap', (g) => console.log(g.toSeq - g.fromSeq + 1));
  sub.on('error', (e) => console.error(e));
  sub.pause().resume();
  console.log(sub.buffered, sub.position.seq);
  await sub.close();

  const quick = await c.send('demo', 'hello');
  const sent = await c.send('demo', Buffer.from([1, 2]), { wait: true, ttlMs: 5000 });
  const outcome: 'sent' | 'expired' | 'cancelled' = sent.outcome;
  console.log(quick.id, sent.id, outcome, sent.reason);

  const h = await c.history('demo', '*', { last: 10 });
  console.log(h.messages.length, h.gap?.toSeq, h.status.epoch);

  await c.createSession('prices', 'wss://feed.example/v1', {
    options: { channel_key: '/channel', headers: ['Authorization: Bearer x'], ping_interval: 15, compression: true },
    persist: false,
  });
  await c.connectSession('prices');
  await c.disconnectSession('prices');
  try {
    await c.removeSession('prices');
  } catch (err) {
    if (err instanceof NotFoundError) console.log('already gone');
    else if (err instanceof WsbridgeError) console.log(err.code);
    else if (err instanceof DaemonUnreachableError) console.log(err.socketPath, err.reason);
  }
  await c.close();

  const ws = new WebSocket('wsbridge://demo/eu', { socket: '/run/user/1000/wsbridge/wsbridge.sock' });
  ws.on('open', () => ws.send('hi', (err) => err && console.error(err)));
  ws.on('message', (data, isBinary) => console.log(isBinary, data));
  ws.on('close', (code, reason) => console.log(code, reason.toString()));
  ws.on('gap', (g) => console.log(g.fromSeq));
  ws.onmessage = (event) => console.log(event.data);
  ws.addEventListener('close', (event) => console.log(event.code, event.wasClean));
  if (ws.readyState === WebSocket.OPEN) ws.close(1000, 'bye');
  const other: DefaultWebSocket = new DefaultWebSocket('wsbridge://demo');
  other.terminate();
}
