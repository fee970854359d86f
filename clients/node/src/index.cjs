'use strict';
// require('wsbridge'): the ws-shaped WebSocket, and connect() (a Promise of
// the native Client). The rest of the native API is ESM: import('wsbridge').
const WebSocket = require('./ws.cjs');

module.exports = {
  WebSocket,
  createWebSocketStream: WebSocket.createWebSocketStream,
  connect: (...args) => import('./index.js').then((m) => m.connect(...args)),
};
