// Type declarations of the ws-shaped WebSocket for ES modules: the class of
// ws.d.cts (one class for `import` and `require`), as `import WebSocket,
// { WebSocket, createWebSocketStream, type RawData, … } from 'ws'` has them.
import WebSocket from './ws.cjs';

export type RawData = WebSocket.RawData;
export type Data = WebSocket.Data;
export type CertMeta = WebSocket.CertMeta;
export type ClientOptions = WebSocket.ClientOptions;
export type BridgeOptions = WebSocket.BridgeOptions;
export type PerMessageDeflateOptions = WebSocket.PerMessageDeflateOptions;
export type Event = WebSocket.Event;
export type ErrorEvent = WebSocket.ErrorEvent;
export type CloseEvent = WebSocket.CloseEvent;
export type MessageEvent = WebSocket.MessageEvent;
export type WebSocketEventMap = WebSocket.WebSocketEventMap;
export type EventListenerOptions = WebSocket.EventListenerOptions;
export type FinishRequestCallback = WebSocket.FinishRequestCallback;
/** The options of `new WebSocket()` (ws's and this face's). */
export type WebSocketOptions = WebSocket.ClientOptions;

export declare const createWebSocketStream: typeof WebSocket.createWebSocketStream;
export { WebSocket };
export default WebSocket;
