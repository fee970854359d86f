// A subscriber in a process of its own, for tests that SIGSTOP it: prints
// "READY" once subscribed, then every item as a JSON line, and exits when
// it has printed a message whose data is argv[4].
// Usage: node subscriber.mjs SOCKET SESSION STOP_AT_DATA
import { connect } from '../../clients/node/src/index.js';

const [socket, session, stopAt] = process.argv.slice(2);
const c = await connect(socket, { reconnect: { initialMs: 20, maxMs: 200 } });
const sub = c.subscribe(session);
sub.once('subscribed', () => console.log('READY'));
for await (const item of sub) {
  console.log(JSON.stringify(item));
  if (item.type === 'message' && item.data === stopAt) break;
}
await c.close();
