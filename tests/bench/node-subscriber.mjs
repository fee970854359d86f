// Benchmark: messages per second through the Node client (clients/node).
// Subscribes to a channel of a session on wsbridged and counts --count
// messages; output as node-report.mjs says. Every message's payload is
// taken as a Buffer, as ws hands it over (node-direct.mjs).
//   node node-subscriber.mjs --socket PATH --session NAME [--channel CH] --count N
//        [--api iterator|emitter|websocket] [--timeout SECONDS]
import { parseArgs } from 'node:util';
import { WebSocket, connect } from '../../clients/node/src/index.js';
import { Meter } from './node-report.mjs';

const { values } = parseArgs({
  options: {
    socket: { type: 'string' },
    session: { type: 'string', default: 'bench' },
    channel: { type: 'string', default: '*' },
    count: { type: 'string', default: '1000000' },
    api: { type: 'string', default: 'iterator' },
    timeout: { type: 'string', default: '60' },
  },
});
const meter = new Meter(`node-subscriber ${values.api}`, Number(values.count), Number(values.timeout));
const fail = (err) => meter.report(err.message);

if (values.api === 'websocket') {
  const path = values.channel === '*' ? '' : `/${encodeURIComponent(values.channel)}`;
  const ws = new WebSocket(`wsbridge://${values.session}${path}`, { socket: values.socket, highWaterMark: 4096 });
  ws.on('error', fail);
  ws.on('open', () => meter.ready());
  ws.on('gap', (g) => meter.gap(g.toSeq - g.fromSeq + 1) && meter.report());
  ws.on('message', (data) => meter.message(data) && meter.report());
} else {
  const c = await connect(values.socket).catch(fail);
  const sub = c.subscribe(values.session, values.channel, { highWaterMark: 4096 });
  sub.once('subscribed', () => meter.ready());
  if (values.api === 'emitter') {
    sub.on('error', fail);
    sub.on('gap', (g) => meter.gap(g.toSeq - g.fromSeq + 1) && meter.report());
    sub.on('message', (m) => meter.message(m.raw) && meter.report());
  } else if (values.api === 'iterator') {
    try {
      for await (const item of sub) {
        if (item.type === 'message' ? meter.message(item.raw)
          : item.type === 'gap' && meter.gap(item.toSeq - item.fromSeq + 1)) break;
      }
      meter.report();
    } catch (err) {
      fail(err);
    }
  } else {
    fail(new TypeError(`--api must be iterator, emitter or websocket, not ${values.api}`));
  }
}
