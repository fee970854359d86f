// Benchmark: messages per second through the ws package connected straight
// to the feed server, the reference for node-subscriber.mjs; output as
// node-report.mjs says.
//   node node-direct.mjs --url ws://127.0.0.1:PORT/ --count N [--timeout SECONDS]
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { Meter } from './node-report.mjs';

// ws is a devDependency of clients/node, for this benchmark only.
const WebSocket = createRequire(new URL('../../clients/node/package.json', import.meta.url))('ws');

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    count: { type: 'string', default: '1000000' },
    timeout: { type: 'string', default: '60' },
  },
});
if (!values.url) throw new TypeError('--url ws://HOST:PORT/ is needed');
const meter = new Meter('node-direct ws', Number(values.count), Number(values.timeout));
const ws = new WebSocket(values.url, { perMessageDeflate: false });
ws.on('error', (err) => meter.report(err.message));
ws.on('open', () => meter.ready());
ws.on('message', (data) => meter.message(data) && meter.report());
