// Type declarations of the ws-shaped WebSocket (`wsbridge/ws`; `wsbridge`
// has the same class). Shaped as ws's own types (@types/ws) are, so that
// what they accept of a ws client program, these accept too; README.md
// ("Differences from ws") says what the face does with each option.
/// <reference types="node" />
import { EventEmitter } from 'node:events';
import type { Agent, ClientRequest, ClientRequestArgs, IncomingMessage } from 'node:http';
import type { Duplex, DuplexOptions } from 'node:stream';
import type { SecureContextOptions } from 'node:tls';
import type { URL } from 'node:url';
import type { ZlibOptions } from 'node:zlib';
import type { Gap, ReconnectOptions, StateChange } from './index.js' with { 'resolution-mode': 'import' };

type BufferLike =
  | string
  | Buffer
  | DataView
  | number
  | ArrayBufferView
  | Uint8Array
  | ArrayBuffer
  | SharedArrayBuffer
  | Blob
  | readonly any[]
  | readonly number[]
  | { valueOf(): ArrayBuffer }
  | { valueOf(): SharedArrayBuffer }
  | { valueOf(): Uint8Array }
  | { valueOf(): readonly number[] }
  | { valueOf(): string }
  | { [Symbol.toPrimitive](hint: string): string };

/**
 * A WebSocket over a shared session: new WebSocket('wsbridge://SESSION[/CHANNEL]').
 * One WebSocket is one upstream connection of the session (sticky: all of them).
 */
declare class WebSocket extends EventEmitter {
  static readonly CONNECTING: 0;
  static readonly OPEN: 1;
  static readonly CLOSING: 2;
  static readonly CLOSED: 3;

  binaryType: 'nodebuffer' | 'arraybuffer' | 'fragments' | 'blob';
  /** Bytes passed to send() that the daemon has not accepted yet. */
  readonly bufferedAmount: number;
  readonly extensions: string;
  readonly isPaused: boolean;
  /** '': the session's subprotocols are its own (session key subprotocols). */
  readonly protocol: string;
  readonly readyState: 0 | 1 | 2 | 3;
  readonly url: string;

  readonly CONNECTING: 0;
  readonly OPEN: 1;
  readonly CLOSING: 2;
  readonly CLOSED: 3;

  onopen: ((event: WebSocket.Event) => void) | null;
  onerror: ((event: WebSocket.ErrorEvent) => void) | null;
  onclose: ((event: WebSocket.CloseEvent) => void) | null;
  onmessage: ((event: WebSocket.MessageEvent) => void) | null;

  constructor(address: string | URL, options?: WebSocket.ClientOptions | ClientRequestArgs);
  constructor(address: string | URL, protocols?: string | string[],
    options?: WebSocket.ClientOptions | ClientRequestArgs);

  close(code?: number, data?: string | Buffer): void;
  /** Asks the daemon for the session's state; 'pong' follows when it is open. */
  ping(data?: any, mask?: boolean, cb?: (err: Error) => void): void;
  /** Nothing to send: the daemon answers the server's pings. */
  pong(data?: any, mask?: boolean, cb?: (err: Error) => void): void;
  send(data: BufferLike, cb?: (err?: Error) => void): void;
  send(data: BufferLike, options: {
    mask?: boolean | undefined;
    binary?: boolean | undefined;
    compress?: boolean | undefined;
    fin?: boolean | undefined;
  }, cb?: (err?: Error) => void): void;
  terminate(): void;
  pause(): void;
  resume(): void;

  addEventListener<K extends keyof WebSocket.WebSocketEventMap>(
    type: K,
    listener: ((event: WebSocket.WebSocketEventMap[K]) => void)
      | { handleEvent(event: WebSocket.WebSocketEventMap[K]): void },
    options?: WebSocket.EventListenerOptions,
  ): void;
  removeEventListener<K extends keyof WebSocket.WebSocketEventMap>(
    type: K,
    listener: ((event: WebSocket.WebSocketEventMap[K]) => void)
      | { handleEvent(event: WebSocket.WebSocketEventMap[K]): void },
  ): void;

  on(event: 'close', listener: (this: WebSocket, code: number, reason: Buffer) => void): this;
  on(event: 'error', listener: (this: WebSocket, error: Error) => void): this;
  on(event: 'upgrade', listener: (this: WebSocket, request: IncomingMessage) => void): this;
  on(event: 'message', listener: (this: WebSocket, data: WebSocket.RawData, isBinary: boolean) => void): this;
  on(event: 'open', listener: (this: WebSocket) => void): this;
  on(event: 'ping' | 'pong', listener: (this: WebSocket, data: Buffer) => void): this;
  on(event: 'redirect', listener: (this: WebSocket, url: string, request: ClientRequest) => void): this;
  on(event: 'unexpected-response',
    listener: (this: WebSocket, request: ClientRequest, response: IncomingMessage) => void): this;
  on(event: 'gap', listener: (this: WebSocket, gap: Gap) => void): this;
  on(event: 'state', listener: (this: WebSocket, change: StateChange) => void): this;
  on(event: string | symbol, listener: (this: WebSocket, ...args: any[]) => void): this;

  once(event: 'close', listener: (this: WebSocket, code: number, reason: Buffer) => void): this;
  once(event: 'error', listener: (this: WebSocket, error: Error) => void): this;
  once(event: 'upgrade', listener: (this: WebSocket, request: IncomingMessage) => void): this;
  once(event: 'message', listener: (this: WebSocket, data: WebSocket.RawData, isBinary: boolean) => void): this;
  once(event: 'open', listener: (this: WebSocket) => void): this;
  once(event: 'ping' | 'pong', listener: (this: WebSocket, data: Buffer) => void): this;
  once(event: 'redirect', listener: (this: WebSocket, url: string, request: ClientRequest) => void): this;
  once(event: 'unexpected-response',
    listener: (this: WebSocket, request: ClientRequest, response: IncomingMessage) => void): this;
  once(event: 'gap', listener: (this: WebSocket, gap: Gap) => void): this;
  once(event: 'state', listener: (this: WebSocket, change: StateChange) => void): this;
  once(event: string | symbol, listener: (this: WebSocket, ...args: any[]) => void): this;

  off(event: 'close', listener: (this: WebSocket, code: number, reason: Buffer) => void): this;
  off(event: 'error', listener: (this: WebSocket, error: Error) => void): this;
  off(event: 'message', listener: (this: WebSocket, data: WebSocket.RawData, isBinary: boolean) => void): this;
  off(event: 'open', listener: (this: WebSocket) => void): this;
  off(event: 'ping' | 'pong', listener: (this: WebSocket, data: Buffer) => void): this;
  off(event: string | symbol, listener: (this: WebSocket, ...args: any[]) => void): this;

  addListener(event: 'close', listener: (code: number, reason: Buffer) => void): this;
  addListener(event: 'error', listener: (error: Error) => void): this;
  addListener(event: 'message', listener: (data: WebSocket.RawData, isBinary: boolean) => void): this;
  addListener(event: 'open', listener: () => void): this;
  addListener(event: 'ping' | 'pong', listener: (data: Buffer) => void): this;
  addListener(event: string | symbol, listener: (...args: any[]) => void): this;

  removeListener(event: 'close', listener: (code: number, reason: Buffer) => void): this;
  removeListener(event: 'error', listener: (error: Error) => void): this;
  removeListener(event: 'message', listener: (data: WebSocket.RawData, isBinary: boolean) => void): this;
  removeListener(event: 'open', listener: () => void): this;
  removeListener(event: 'ping' | 'pong', listener: (data: Buffer) => void): this;
  removeListener(event: string | symbol, listener: (...args: any[]) => void): this;
}

declare const WebSocketAlias: typeof WebSocket;
interface WebSocketAlias extends WebSocket {}

declare namespace WebSocket {
  type RawData = Buffer | ArrayBuffer | Buffer[];
  type Data = string | Buffer | ArrayBuffer | Buffer[];
  type CertMeta = string | string[] | Buffer | Buffer[];
  type FinishRequestCallback = (request: ClientRequest, websocket: WebSocket) => void;

  /** The options of this face (README.md, "Options"). */
  interface BridgeOptions {
    /** The daemon's socket (else $WSBRIDGE_SOCKET, else the user instance's). */
    socket?: string | undefined;
    system?: boolean | undefined;
    /** Keep this WebSocket open across upstream reconnects and daemon restarts (the session's templates resubscribe). */
    sticky?: boolean | undefined;
    /** With sticky: how the client reconnects to the daemon. */
    reconnect?: ReconnectOptions | boolean | undefined;
    /** Milliseconds between 'ping' events while the session is open (default 5000). */
    pingInterval?: number | undefined;
    /** Messages held while paused or not taken, before the client stops reading. */
    highWaterMark?: number | undefined;
    clientName?: string | undefined;
  }

  /** ws's client options; those the session has instead warn once (README.md). */
  interface ClientOptions extends SecureContextOptions, BridgeOptions {
    protocol?: string | undefined;
    followRedirects?: boolean | undefined;
    generateMask?(mask: Buffer): void;
    /** Honoured: 'error' and 'close' (1006) when the session does not open in time. */
    handshakeTimeout?: number | undefined;
    maxRedirects?: number | undefined;
    perMessageDeflate?: boolean | PerMessageDeflateOptions | undefined;
    localAddress?: string | undefined;
    protocolVersion?: number | undefined;
    headers?: { [key: string]: string } | undefined;
    origin?: string | undefined;
    agent?: Agent | undefined;
    host?: string | undefined;
    family?: number | undefined;
    checkServerIdentity?(servername: string, cert: CertMeta): boolean;
    rejectUnauthorized?: boolean | undefined;
    allowSynchronousEvents?: boolean | undefined;
    autoPong?: boolean | undefined;
    closeTimeout?: number | undefined;
    maxPayload?: number | undefined;
    maxBufferedChunks?: number | undefined;
    maxFragments?: number | undefined;
    skipUTF8Validation?: boolean | undefined;
    createConnection?: ((...args: any[]) => any) | undefined;
    finishRequest?: FinishRequestCallback | undefined;
  }

  interface PerMessageDeflateOptions {
    serverNoContextTakeover?: boolean | undefined;
    clientNoContextTakeover?: boolean | undefined;
    serverMaxWindowBits?: number | undefined;
    clientMaxWindowBits?: number | undefined;
    zlibDeflateOptions?: {
      flush?: number | undefined;
      finishFlush?: number | undefined;
      chunkSize?: number | undefined;
      windowBits?: number | undefined;
      level?: number | undefined;
      memLevel?: number | undefined;
      strategy?: number | undefined;
      dictionary?: Buffer | Buffer[] | DataView | undefined;
      info?: boolean | undefined;
    } | undefined;
    zlibInflateOptions?: ZlibOptions | undefined;
    threshold?: number | undefined;
    concurrencyLimit?: number | undefined;
  }

  interface Event {
    type: string;
    target: WebSocket;
  }

  interface ErrorEvent {
    error: any;
    message: string;
    type: string;
    target: WebSocket;
  }

  interface CloseEvent {
    wasClean: boolean;
    code: number;
    reason: string;
    type: string;
    target: WebSocket;
  }

  interface MessageEvent {
    data: Data;
    type: string;
    target: WebSocket;
  }

  interface WebSocketEventMap {
    open: Event;
    error: ErrorEvent;
    close: CloseEvent;
    message: MessageEvent;
  }

  interface EventListenerOptions {
    once?: boolean | undefined;
  }

  const WebSocket: typeof WebSocketAlias;
  interface WebSocket extends WebSocketAlias {}

  /** A Duplex over the WebSocket, as ws's. */
  function createWebSocketStream(websocket: WebSocket, options?: DuplexOptions): Duplex;
}

export = WebSocket;
