// `import WebSocket from 'wsbridge/ws'`, for apps written as `import WebSocket from 'ws'`.
export { WebSocket as default, WebSocket } from './ws.js';
