// Type declarations of the ws-shaped WebSocket (`wsbridge` and `wsbridge/ws`).
/// <reference types="node" />
import { EventEmitter } from 'node:events';
import type { Gap, ReconnectOptions, StateChange } from './index.js';

export interface WebSocketOptions {
  /** The daemon's socket (else $WSBRIDGE_SOCKET, else the user instance's). */
  socket?: string;
  system?: boolean;
  reconnect?: ReconnectOptions | boolean;
  /** Messages held while paused or not taken, before the client stops reading. */
  highWaterMark?: number;
  clientName?: string;
}

export interface MessageEvent {
  type: 'message';
  target: WebSocket;
  /** A string for text; for binary, as binaryType says. */
  data: string | Buffer | ArrayBuffer | Buffer[];
}

export interface CloseEvent {
  type: 'close';
  target: WebSocket;
  code: number;
  reason: string;
  wasClean: boolean;
}

export interface ErrorEvent {
  type: 'error';
  target: WebSocket;
  error: Error;
  message: string;
}

export interface OpenEvent {
  type: 'open';
  target: WebSocket;
}

interface EventMap {
  open: OpenEvent;
  message: MessageEvent;
  close: CloseEvent;
  error: ErrorEvent;
}

type Listener<E> = ((this: WebSocket, event: E) => void) | { handleEvent(event: E): void };

/**
 * A WebSocket over a shared session: new WebSocket('wsbridge://SESSION[/CHANNEL]').
 * Shaped like the one of the ws package; README.md lists what differs.
 */
export class WebSocket extends EventEmitter {
  static readonly CONNECTING: 0;
  static readonly OPEN: 1;
  static readonly CLOSING: 2;
  static readonly CLOSED: 3;
  readonly CONNECTING: 0;
  readonly OPEN: 1;
  readonly CLOSING: 2;
  readonly CLOSED: 3;

  constructor(address: string | URL, options?: WebSocketOptions);
  constructor(address: string | URL, protocols?: string | string[], options?: WebSocketOptions);

  readonly url: string;
  readonly readyState: 0 | 1 | 2 | 3;
  readonly protocol: string;
  readonly extensions: string;
  /** Bytes passed to send() that the daemon has not accepted yet. */
  readonly bufferedAmount: number;
  readonly isPaused: boolean;
  binaryType: 'nodebuffer' | 'arraybuffer' | 'fragments';

  send(data: string | number | Buffer | ArrayBufferView | ArrayBuffer, cb?: (err?: Error) => void): void;
  send(data: string | number | Buffer | ArrayBufferView | ArrayBuffer,
    options: { binary?: boolean }, cb?: (err?: Error) => void): void;
  close(code?: number, reason?: string | Buffer): void;
  terminate(): void;
  /** Asks the daemon for the session's state; 'pong' follows when it is open. */
  ping(data?: string | number | Buffer, mask?: boolean, cb?: (err?: Error) => void): void;
  pause(): void;
  resume(): void;

  onopen: ((this: WebSocket, event: OpenEvent) => void) | null;
  onmessage: ((this: WebSocket, event: MessageEvent) => void) | null;
  onclose: ((this: WebSocket, event: CloseEvent) => void) | null;
  onerror: ((this: WebSocket, event: ErrorEvent) => void) | null;
  addEventListener<K extends keyof EventMap>(type: K, listener: Listener<EventMap[K]>, options?: { once?: boolean }): void;
  removeEventListener<K extends keyof EventMap>(type: K, listener: Listener<EventMap[K]>): void;

  on(event: 'open', listener: (this: WebSocket) => void): this;
  on(event: 'message', listener: (this: WebSocket, data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void): this;
  on(event: 'close', listener: (this: WebSocket, code: number, reason: Buffer) => void): this;
  on(event: 'error', listener: (this: WebSocket, error: Error) => void): this;
  on(event: 'pong', listener: (this: WebSocket, data: Buffer) => void): this;
  on(event: 'gap', listener: (this: WebSocket, gap: Gap) => void): this;
  on(event: 'state', listener: (this: WebSocket, change: StateChange) => void): this;
  once(event: 'open', listener: (this: WebSocket) => void): this;
  once(event: 'message', listener: (this: WebSocket, data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void): this;
  once(event: 'close', listener: (this: WebSocket, code: number, reason: Buffer) => void): this;
  once(event: 'error', listener: (this: WebSocket, error: Error) => void): this;
}

export default WebSocket;
