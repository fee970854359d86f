// Type declarations of require('wsbridge'): the ws-shaped WebSocket and
// connect() (the rest of the native API is ESM: import('wsbridge')).
import WebSocket = require('./ws.cjs');
import type { Client, ConnectOptions } from './index.js' with { 'resolution-mode': 'import' };

export { WebSocket };
export declare const createWebSocketStream: typeof WebSocket.createWebSocketStream;
export declare function connect(socketPath?: string | null, options?: ConnectOptions): Promise<Client>;
export declare function connect(options: ConnectOptions): Promise<Client>;
