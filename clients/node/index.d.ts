// Type declarations of the wsbridge package (hand-written; checked by
// `tsc --noEmit` in the tests, with examples/typed.ts).
/// <reference types="node" />
import { EventEmitter } from 'node:events';

export { WebSocket, createWebSocketStream } from './ws.js';

export type SessionState = 'disconnected' | 'connecting' | 'open' | 'backoff' | 'closing';

/** A session as the daemon reports it. */
export interface SessionStatus {
  name: string;
  url: string;
  state: SessionState;
  /** Why the session entered this state (close code, HTTP status, TLS or DNS error…). */
  reason: string;
  /** Changes whenever seq restarts (a daemon restart); below 2^53. */
  epoch: number;
  /** seq of the newest inbound message, 0 if none. */
  lastSeq: number;
  reconnects: number;
  rxMessages: number;
  txMessages: number;
  queuedMessages: number;
  /** The last ping round trip, 0 if unknown. */
  rttUs: number;
  /** Wall-clock time (µs since the Unix epoch) of the next try in backoff, else 0. */
  nextRetryUs: number;
  /**
   * How the last open upstream connection ended (API 1.2): the server's close
   * code and reason, the daemon's own (1000, 1001), 1006 for a drop; 0 and ''
   * before any connection ended.
   */
  closeCode: number;
  closeReason: string;
}

/** One inbound message. */
export class Message {
  private constructor();
  readonly type: 'message';
  readonly session: string;
  /** The channel it was routed to ("*" when none), also on a "*" subscription. */
  readonly channel: string;
  readonly seq: number;
  readonly epoch: number;
  /** Receive time at the daemon, µs since the Unix epoch. */
  readonly timeUs: number;
  readonly binary: boolean;
  /** The payload's length in bytes. */
  readonly size: number;
  /** The payload: a Buffer sharing memory with the socket's read buffer. */
  readonly raw: Buffer;
  /** A string for a text message, the Buffer for a binary one. */
  readonly data: string | Buffer;
  toJSON(): {
    type: 'message'; session: string; channel: string; seq: number; epoch: number;
    timeUs: number; binary: boolean; data: string;
  };
}

/**
 * Messages fromSeq..toSeq (inclusive) of epoch that this subscription will
 * never see. After a daemon restart: one gap with the new epoch,
 * previousEpoch set, and fromSeq..toSeq the new epoch's messages that are
 * gone (an empty range, toSeq < fromSeq, when none are).
 */
export class Gap {
  private constructor();
  readonly type: 'gap';
  readonly session: string;
  readonly channel: string;
  readonly fromSeq: number;
  readonly toSeq: number;
  readonly epoch: number;
  /** The epoch before seq restarted; 0 when it did not. */
  readonly previousEpoch: number;
}

/** The session changed state. */
export class StateChange {
  private constructor();
  readonly type: 'state';
  readonly session: string;
  readonly channel: string;
  readonly state: SessionState;
  readonly reason: string;
  readonly status: SessionStatus;
}

export type Item = Message | Gap | StateChange;

export interface SubscribeOptions {
  /** Resume after this seq of epoch (0 with an epoch: the epoch's whole history). */
  sinceSeq?: number | bigint;
  /** The epoch sinceSeq belongs to; 0 (the default): live messages only. */
  epoch?: number | bigint | string;
  /** Items held for a slow consumer before the client stops reading (default 1024). */
  highWaterMark?: number;
  /**
   * Live only (API 1.2): start with the first opening_messages messages the
   * session's current upstream connection opened with (a greeting), then live ones.
   */
  opening?: boolean;
}

/**
 * A subscription: an async iterable of items (breaking out of the loop
 * unsubscribes) and an EventEmitter of the same items.
 */
export class Subscription extends EventEmitter implements AsyncIterable<Item> {
  private constructor();
  readonly session: string;
  readonly channel: string;
  /** The session's status when the subscription (re)started, then at each state change. */
  status: SessionStatus | null;
  /** Items received and not yet taken. */
  readonly buffered: number;
  /** The last seq delivered and its epoch: where a resume starts. */
  readonly position: { seq: number; epoch: number };
  pause(): this;
  resume(): this;
  isPaused(): boolean;
  /** Unsubscribes; resolves once the daemon has ended the subscription. */
  close(): Promise<void>;
  unsubscribe(): Promise<void>;
  [Symbol.asyncIterator](): AsyncIterableIterator<Item>;

  on(event: 'message', listener: (message: Message) => void): this;
  on(event: 'gap', listener: (gap: Gap) => void): this;
  on(event: 'state', listener: (change: StateChange) => void): this;
  on(event: 'subscribed', listener: (status: SessionStatus) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
  on(event: 'close', listener: () => void): this;
  once(event: 'message', listener: (message: Message) => void): this;
  once(event: 'gap', listener: (gap: Gap) => void): this;
  once(event: 'state', listener: (change: StateChange) => void): this;
  once(event: 'subscribed', listener: (status: SessionStatus) => void): this;
  once(event: 'error', listener: (error: Error) => void): this;
  once(event: 'close', listener: () => void): this;
}

export interface SendOptions {
  /** Resolve once the send has its outcome (sent, expired, cancelled). */
  wait?: boolean;
  /** Expire after this long in the queue; 0: the session's queue_ttl_ms. */
  ttlMs?: number;
  /** Send as binary (default: true for bytes, false for a string). */
  binary?: boolean;
}

export type SendOutcome = 'sent' | 'expired' | 'cancelled';

export interface SendResult {
  /** The per-session id of this send. */
  id: number;
}

export interface SendOutcomeResult extends SendResult {
  outcome: SendOutcome;
  /** Why, for anything but sent. */
  reason: string;
}

export interface HistoryOptions {
  /** At most this many, newest; 0 (the default): all the history holds. */
  last?: number;
}

export interface HistoryResult {
  /** Oldest first. */
  messages: Message[];
  /** Messages gone for good that would belong among the ones asked for. */
  gap: Gap | null;
  status: SessionStatus;
}

export interface CreateSessionOptions {
  /** Session keys of wsbridge.conf(5); lists as arrays. */
  options?: Record<string, string | number | boolean | string[]>;
  /** Write the session to sessions.d/ so that it comes back at every start. */
  persist?: boolean;
}

export interface ReconnectOptions {
  /** The first retry's delay cap (full jitter), default 100. */
  initialMs?: number;
  /** The cap the delays grow to, default 5000. */
  maxMs?: number;
  /** Give up after this long without the daemon, default 60000 (Infinity: never). */
  giveUpMs?: number;
}

export interface ConnectOptions {
  /** The socket path (else $WSBRIDGE_SOCKET, else the user instance's). */
  socket?: string;
  /** Without socket and $WSBRIDGE_SOCKET: the system instance's socket. */
  system?: boolean;
  /** Shown in the daemon's log. */
  clientName?: string;
  /** Reconnect after losing the daemon (default true); false ends everything at once. */
  reconnect?: ReconnectOptions | boolean;
  /** The largest frame accepted from the daemon (default 256 MiB). */
  maxFrameBytes?: number;
}

/** What the daemon said in its hello. */
export interface DaemonInfo {
  version: string;
  apiMajor: number;
  apiMinor: number;
  /** The caller's identity as the daemon sees it. */
  uid: number;
  gid: number;
  pid: number;
}

/** A connection to wsbridged; make one with connect(). */
export class Client extends EventEmitter {
  private constructor();
  readonly socketPath: string;
  readonly state: 'open' | 'reconnecting' | 'closed';
  daemon: DaemonInfo | null;

  sessions(): Promise<SessionStatus[]>;
  status(session: string): Promise<SessionStatus>;
  subscribe(session: string, channel?: string, options?: SubscribeOptions): Subscription;
  send(session: string, data: string | Buffer | ArrayBufferView | ArrayBuffer,
    options: SendOptions & { wait: true }): Promise<SendOutcomeResult>;
  send(session: string, data: string | Buffer | ArrayBufferView | ArrayBuffer,
    options?: SendOptions): Promise<SendResult | SendOutcomeResult>;
  history(session: string, channel?: string, options?: HistoryOptions): Promise<HistoryResult>;
  createSession(name: string, url: string, options?: CreateSessionOptions): Promise<SessionStatus>;
  removeSession(session: string): Promise<void>;
  connectSession(session: string): Promise<void>;
  disconnectSession(session: string): Promise<void>;
  /** Ends every subscription, fails what is pending, closes the socket. */
  close(): Promise<void>;

  on(event: 'disconnect', listener: (error: WsbridgeError | ProtocolError) => void): this;
  on(event: 'reconnect', listener: (daemon: DaemonInfo) => void): this;
  on(event: 'close', listener: (error: Error | null) => void): this;
  once(event: 'disconnect', listener: (error: WsbridgeError | ProtocolError) => void): this;
  once(event: 'reconnect', listener: (daemon: DaemonInfo) => void): this;
  once(event: 'close', listener: (error: Error | null) => void): this;
}

/**
 * Connects to wsbridged at socketPath, else where wsbridgectl would.
 * Rejects with DaemonUnreachableError.
 */
export function connect(socketPath?: string | null, options?: ConnectOptions): Promise<Client>;
export function connect(options: ConnectOptions): Promise<Client>;

/** The socket path wsbridgectl would use (an empty explicit path counts as none). */
export function defaultSocketPath(explicit?: string | null,
  options?: { system?: boolean; env?: NodeJS.ProcessEnv }): string;

/** An error from the daemon, or of the client ("CLOSED", "DAEMON_UNREACHABLE"). */
export class WsbridgeError extends Error {
  constructor(code: string, message: string, options?: { cause?: unknown });
  /** The daemon's ErrorCode name without its prefix, e.g. "NOT_FOUND". */
  readonly code: string;
}
export class NotFoundError extends WsbridgeError {}
export class AccessDeniedError extends WsbridgeError {}
export class QueueFullError extends WsbridgeError {}
export class InvalidArgumentError extends WsbridgeError {}
export class AlreadyExistsError extends WsbridgeError {}
export class DaemonUnreachableError extends WsbridgeError {
  constructor(socketPath: string, reason: string, options?: { cause?: unknown });
  readonly socketPath: string;
  readonly reason: string;
}

/** A frame from the daemon that does not follow the protocol. */
export class ProtocolError extends Error {}
