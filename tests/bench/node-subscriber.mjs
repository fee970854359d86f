// Benchmark: messages per second through the Node client (clients/node).
// Subscribes to SESSION on wsbridged and prints "RATE <msgs/s> COUNT <n>"
// after N messages, timed from the first one. Every message's payload is
// taken as a Buffer, as ws hands it over (node-direct.mjs).
//   node node-subscriber.mjs --socket PATH --session NAME --count N [--api iterator|emitter|websocket]
import { parseArgs } from 'node:util';
import { WebSocket, connect } from '../../clients/node/src/index.js';

const { values } = parseArgs({
  options: {
    socket: { type: 'string' },
    session: { type: 'string', default: 'bench' },
    count: { type: 'string', default: '1000000' },
    api: { type: 'string', default: 'iterator' },
  },
});
const count = Number(values.count);
if (!Number.isSafeInteger(count) || count < 2) throw new RangeError(`--count must be a whole number ≥ 2, not ${values.count}`);

let n = 0;
let bytes = 0;
let start = 0n;
let cpu = null;

/** Counts one payload; true once COUNT have come. */
function counted(payload) {
  if (n === 0) {
    start = process.hrtime.bigint();
    cpu = process.cpuUsage();
  }
  bytes += payload.length;
  return ++n === count;
}

function report() {
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  console.log(`RATE ${Math.round((count - 1) / seconds)} COUNT ${n} BYTES ${bytes} ` +
    `CPU_NS_PER_MSG ${Math.round(((used.user + used.system) * 1000) / (count - 1))}`);
}

if (values.api === 'websocket') {
  const ws = new WebSocket(`wsbridge://${values.session}`, { socket: values.socket });
  ws.on('error', (err) => {
    console.error(err.message);
    process.exit(1);
  });
  ws.on('message', (data) => {
    if (counted(data)) {
      report();
      ws.terminate();
    }
  });
} else {
  const c = await connect(values.socket);
  const sub = c.subscribe(values.session, '*', { highWaterMark: 4096 });
  if (values.api === 'emitter') {
    await new Promise((resolve, reject) => {
      sub.on('error', reject);
      sub.on('message', (m) => {
        if (counted(m.raw)) resolve();
      });
    });
  } else if (values.api === 'iterator') {
    for await (const item of sub) if (item.type === 'message' && counted(item.raw)) break;
  } else {
    throw new TypeError(`--api must be iterator, emitter or websocket, not ${values.api}`);
  }
  report();
  await c.close();
}
