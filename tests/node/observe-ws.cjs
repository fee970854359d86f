'use strict';
// Preloaded (node -r) into an example program, which stays as it is: logs
// the events of its wsbridge/ws WebSockets, one JSON line each with the
// time, to the file $WSB_OBSERVE, so a test can tell when it opened.
const { appendFileSync } = require('node:fs');

const WebSocket = require(require.resolve('wsbridge/ws', { paths: [process.cwd()] }));
const emit = WebSocket.prototype.emit;
WebSocket.prototype.emit = function observed(event, ...args) {
  if (typeof event === 'string' && ['open', 'ping', 'close', 'error'].includes(event))
    appendFileSync(process.env.WSB_OBSERVE, `${JSON.stringify({ event, t: Date.now() })}\n`);
  return emit.call(this, event, ...args);
};
