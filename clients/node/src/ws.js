// The ws-shaped WebSocket for ES modules: the one of ws.cjs (one class for
// `import` and `require`), README.md ("Node") lists what differs from ws.
import WebSocket from './ws.cjs';

export const { createWebSocketStream } = WebSocket;
export { WebSocket };
export default WebSocket;
