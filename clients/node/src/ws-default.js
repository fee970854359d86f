// `import WebSocket from 'wsbridge/ws'`, for apps written as `import WebSocket from 'ws'`
// (and `import { WebSocket, createWebSocketStream } from 'ws'`).
export { default, WebSocket, createWebSocketStream } from './ws.js';
