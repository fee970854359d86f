// wsbridge: the Node client of wsbridged (DESIGN.md §8).
export { connect, Client } from './client.js';
export { Subscription } from './subscription.js';
export { Message, Gap, StateChange, ProtocolError } from './protocol.js';
export {
  WsbridgeError, NotFoundError, AccessDeniedError, QueueFullError, InvalidArgumentError,
  AlreadyExistsError, DaemonUnreachableError,
} from './errors.js';
export { defaultSocketPath } from './socket-path.js';
export { WebSocket, createWebSocketStream } from './ws.js';
