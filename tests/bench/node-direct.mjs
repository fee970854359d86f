// Benchmark: messages per second through the ws package, connected straight
// to the feed server; the reference for node-subscriber.mjs. Prints
// "RATE <msgs/s> COUNT <n>" after N messages, timed from the first one
// (then BYTES and CPU_NS_PER_MSG, the process's CPU time per message).
//   node node-direct.mjs --url ws://127.0.0.1:PORT/ --count N
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

// ws is a devDependency of clients/node, for this benchmark only.
const WebSocket = createRequire(new URL('../../clients/node/package.json', import.meta.url))('ws');

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    count: { type: 'string', default: '1000000' },
  },
});
const count = Number(values.count);
if (!values.url) throw new TypeError('--url ws://HOST:PORT/ is needed');
if (!Number.isSafeInteger(count) || count < 2) throw new RangeError(`--count must be a whole number ≥ 2, not ${values.count}`);

let n = 0;
let bytes = 0;
let start = 0n;
let cpu = null;
const ws = new WebSocket(values.url);
ws.on('error', (err) => {
  console.error(err.message);
  process.exit(1);
});
ws.on('message', (data) => {
  if (n === 0) {
    start = process.hrtime.bigint();
    cpu = process.cpuUsage();
  }
  bytes += data.length;
  if (++n === count) {
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const used = process.cpuUsage(cpu);
  console.log(`RATE ${Math.round((count - 1) / seconds)} COUNT ${n} BYTES ${bytes} ` +
    `CPU_NS_PER_MSG ${Math.round(((used.user + used.system) * 1000) / (count - 1))}`);
    ws.terminate();
  }
});
