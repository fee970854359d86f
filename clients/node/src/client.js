// The connection to wsbridged: one Unix socket that multiplexes requests
// (matched to replies by id) and events (routed by subscription id), and
// that reconnects with bounded, jittered backoff when the daemon goes away.
import { EventEmitter } from 'node:events';
import net from 'node:net';
import {
  DaemonUnreachableError, WsbridgeError, daemonError, describeSocketError,
} from './errors.js';
import {
  API_MAJOR, API_MINOR, FrameDecoder, FrameReader, ProtocolError,
  encodeClientFrame, errorCodeName, expectResult, gapFromPb, messageFromPb, sendResultName,
  statusFromPb, toNumber,
} from './protocol.js';
import { defaultSocketPath } from './socket-path.js';
import { Subscription, INTERNAL } from './subscription.js';

export { PAYLOADS } from './subscription.js';
import {
  checkBoolean, checkCount, checkData, checkName, checkOptionalName, checkRecord,
  toEpoch,
} from './validate.js';

const RECONNECT_DEFAULTS = Object.freeze({ initialMs: 100, maxMs: 5000, giveUpMs: 60000 });
const HELLO_TIMEOUT_MS = 10000;
const MAX_FRAME_BYTES = 256 * 1024 * 1024;
// sun_path holds 108 bytes with the terminating NUL.
const MAX_SOCKET_PATH_BYTES = 107;

const OPEN = Symbol('open');

function reconnectOptions(value) {
  if (value === false) return null;
  if (value === undefined || value === true) return RECONNECT_DEFAULTS;
  checkRecord('reconnect', value);
  const out = { ...RECONNECT_DEFAULTS, ...value };
  for (const key of ['initialMs', 'maxMs'])
    if (!(Number.isFinite(out[key]) && out[key] > 0))
      throw new RangeError(`reconnect.${key} must be a positive number of milliseconds`);
  if (!(out.giveUpMs === Infinity || (Number.isFinite(out.giveUpMs) && out.giveUpMs >= 0)))
    throw new RangeError('reconnect.giveUpMs must be a number of milliseconds ≥ 0, or Infinity');
  if (out.maxMs < out.initialMs) throw new RangeError('reconnect.maxMs must be ≥ reconnect.initialMs');
  return Object.freeze(out);
}

/**
 * A connection to wsbridged. Make one with connect(); every method may be
 * called at once, and calls are answered in any order.
 */
export class Client extends EventEmitter {
  #path;
  #clientName;
  #reconnect;
  #maxFrameBytes;
  #conn = null; // { sock, reader, decoder }
  #closed = false;
  #closeError = null;
  #closing = null;
  #nextId = 0;
  #pending = new Map(); // request id -> { onReply, onError } (called synchronously)
  #outbox = []; // requests made while reconnecting: { id, frame }
  #waits = new Map(); // "session\0sendId" -> { resolve, reject }
  #subsById = new Map();
  #subsChanged = 0; // bumped at every change of #subsById
  #subscriptions = new Set();
  #holds = 0;
  #drainQueued = false;
  #corked = false;
  #connError = null; // an Error frame the daemon sent before closing
  #timer = null;
  #attempt = 0;
  #lostAt = 0;
  #lastReason = '';
  #internal;

  /** @internal Use connect(). */
  constructor(path, options = {}) {
    super();
    checkRecord('options', options);
    if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES)
      throw new DaemonUnreachableError(path,
        `the path is ${Buffer.byteLength(path)} bytes long; a Unix socket path has at most ${MAX_SOCKET_PATH_BYTES}`);
    this.#path = path;
    this.#clientName = options.clientName ?? `node ${process.argv[1] ?? 'client'}`;
    if (typeof this.#clientName !== 'string') throw new TypeError('clientName must be a string');
    this.#reconnect = reconnectOptions(options.reconnect);
    this.#maxFrameBytes = options.maxFrameBytes ?? MAX_FRAME_BYTES;
    checkCount('maxFrameBytes', this.#maxFrameBytes, 1);
    /** What the daemon said in its hello: version and the caller's identity. */
    this.daemon = null;
    this.#internal = {
      request: (op, onReply, onError) => this.#request(op, onReply, onError),
      register: (id, sub) => {
        this.#subsById.set(id, sub);
        this.#subsChanged++;
      },
      unregister: (id) => {
        this.#subsById.delete(id);
        this.#subsChanged++;
      },
      forget: (sub) => this.#subscriptions.delete(sub),
      hold: () => this.#hold(),
      release: () => this.#release(),
    };
  }

  /** The socket path this client talks to. */
  get socketPath() {
    return this.#path;
  }

  /** 'open', 'reconnecting' or 'closed'. */
  get state() {
    if (this.#closed) return 'closed';
    return this.#conn ? 'open' : 'reconnecting';
  }

  // ---------------------------------------------------------- connection

  [OPEN]() {
    return new Promise((resolve, reject) => {
      const reader = new FrameReader(this.#maxFrameBytes);
      // Reads go straight into the reader's slab, without a stream's 'data'
      // events (FrameReader: no copy, no allocation per read).
      const sock = net.createConnection({
        path: this.#path,
        onread: { buffer: () => reader.space(), callback: (n) => onRead(n) },
      });
      const conn = { sock, reader, decoder: new FrameDecoder() };
      let greeted = false;
      const timer = setTimeout(() => fail(new DaemonUnreachableError(this.#path,
        `no hello reply within ${HELLO_TIMEOUT_MS / 1000} s`)), HELLO_TIMEOUT_MS);
      const fail = (err) => {
        if (greeted) return;
        greeted = true;
        clearTimeout(timer);
        sock.destroy();
        reject(err);
      };
      sock.on('connect', () => {
        sock.write(encodeClientFrame({
          hello: { apiMajor: API_MAJOR, apiMinor: API_MINOR, clientName: this.#clientName },
        }));
      });
      sock.on('error', (err) => {
        if (!greeted) fail(new DaemonUnreachableError(this.#path, describeSocketError(err), { cause: err }));
        else conn.error ??= err;
      });
      sock.on('close', () => {
        if (!greeted) fail(new DaemonUnreachableError(this.#path, 'the daemon closed the connection before its hello'));
        else if (this.#conn === conn) this.#lost(conn);
      });
      const onRead = (n) => {
        reader.wrote(n);
        if (greeted) {
          this.#drain();
          return;
        }
        try {
          if (!reader.next()) return;
          const frame = conn.decoder.decodeOther(reader.frame.subarray(reader.start, reader.end));
          if (frame.frame === 'error') {
            fail(daemonError(errorCodeName(frame.error.code), frame.error.message));
            return;
          }
          if (frame.frame !== 'hello') throw new ProtocolError(`the daemon answered the hello with ${frame.frame}`);
          greeted = true;
          clearTimeout(timer);
          const h = frame.hello;
          this.daemon = {
            version: h.daemonVersion, apiMajor: h.apiMajor, apiMinor: h.apiMinor,
            uid: h.uid, gid: h.gid, pid: h.pid,
          };
          this.#conn = conn;
          if (this.#holds > 0) sock.pause();
          resolve();
          this.#drain();
        } catch (err) {
          fail(err);
        }
      };
    });
  }

  #lost(conn) {
    this.#conn = null;
    const why = this.#connError
      ?? new DaemonUnreachableError(this.#path, conn.error
        ? `lost the connection: ${describeSocketError(conn.error)}` : 'the daemon closed the connection',
      { cause: conn.error });
    this.#connError = null;
    this.#lastReason = why.reason ?? why.message;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    const waits = [...this.#waits.entries()];
    this.#waits.clear();
    this.#subsById.clear();
    this.#subsChanged++;
    for (const sub of this.#subscriptions) sub[INTERNAL].lost();
    for (const p of pending) p.onError(why);
    for (const [key, w] of waits) {
      const [session, id] = key.split('\0');
      w.reject(new DaemonUnreachableError(this.#path,
        `lost the connection before the outcome of send ${id} to ${session}`, { cause: why }));
    }
    if (this.#closed) return;
    this.emit('disconnect', why);
    const permanent = why instanceof WsbridgeError && why.code === 'VERSION_MISMATCH';
    if (!this.#reconnect || permanent) this.#fail(why);
    else this.#scheduleReconnect();
  }

  #scheduleReconnect() {
    const { initialMs, maxMs, giveUpMs } = this.#reconnect;
    const now = Date.now();
    if (!this.#lostAt) this.#lostAt = now;
    const deadline = this.#lostAt + giveUpMs;
    if (now >= deadline) {
      this.#fail(new DaemonUnreachableError(this.#path,
        `gave up reconnecting after ${giveUpMs} ms (${this.#lastReason})`));
      return;
    }
    // Full jitter: a random delay up to the exponentially growing cap.
    const cap = Math.min(maxMs, initialMs * 2 ** Math.min(this.#attempt++, 30));
    const delay = Math.min(Math.random() * cap, deadline - now);
    this.#timer = setTimeout(() => this.#reconnectNow(), delay);
  }

  async #reconnectNow() {
    this.#timer = null;
    try {
      await this[OPEN]();
    } catch (err) {
      if (this.#closed) return;
      this.#lastReason = err.reason ?? err.message;
      if (err instanceof WsbridgeError && err.code === 'VERSION_MISMATCH') this.#fail(err);
      else this.#scheduleReconnect();
      return;
    }
    if (this.#closed) {
      this.#conn.sock.destroy();
      return;
    }
    this.#attempt = 0;
    this.#lostAt = 0;
    for (const sub of this.#subscriptions) sub[INTERNAL].reconnected();
    const outbox = this.#outbox;
    this.#outbox = [];
    for (const { frame } of outbox) this.#write(frame);
    this.emit('reconnect', this.daemon);
  }

  /** The end: every request, wait and subscription fails with err. */
  #fail(err) {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeError = err;
    this.#abandon(err);
    for (const sub of [...this.#subscriptions]) sub[INTERNAL].fail(err);
    this.emit('close', err);
  }

  #abandon(err) {
    clearTimeout(this.#timer);
    this.#timer = null;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    this.#outbox = [];
    for (const p of pending) p.onError(err);
    for (const w of this.#waits.values()) w.reject(err);
    this.#waits.clear();
  }

  /**
   * Ends every subscription (iterators finish, emitters emit 'close'), fails
   * what is still pending, and closes the socket.
   */
  close() {
    if (this.#closing) return this.#closing;
    const wasClosed = this.#closed;
    this.#closed = true;
    this.#abandon(this.#closeError ?? new WsbridgeError('CLOSED', 'the client was closed'));
    for (const sub of [...this.#subscriptions]) sub[INTERNAL].end();
    const conn = this.#conn;
    this.#conn = null;
    this.#closing = new Promise((resolve) => {
      if (!conn || conn.sock.destroyed) {
        resolve();
        return;
      }
      conn.sock.once('close', resolve);
      conn.sock.end();
      conn.sock.resume();
    });
    if (!wasClosed) this.emit('close', null);
    return this.#closing;
  }

  // ---------------------------------------------------------- frames

  #hold() {
    if (++this.#holds === 1) this.#conn?.sock.pause();
  }

  #release() {
    if (--this.#holds > 0 || !this.#conn) return;
    this.#conn.sock.resume();
    if (!this.#drainQueued) {
      this.#drainQueued = true;
      queueMicrotask(() => {
        this.#drainQueued = false;
        this.#drain();
      });
    }
  }

  #drain() {
    const conn = this.#conn;
    if (!conn) return;
    const { reader, decoder } = conn;
    let id = -1; // the subscription of the last message event, looked up once for a run of them
    let sub;
    let changed = this.#subsChanged;
    try {
      while (this.#holds === 0 && this.#conn === conn && reader.next()) {
        if (decoder.read(reader.frame, reader.start, reader.end)) {
          // A message event: the subscription makes of it only what it delivers.
          if (decoder.subscriptionId !== id || changed !== this.#subsChanged) {
            id = decoder.subscriptionId;
            changed = this.#subsChanged;
            sub = this.#subsById.get(id)?.[INTERNAL];
          }
          sub?.read(decoder, reader.frame);
          continue;
        }
        this.#frame(decoder.decodeOther(reader.frame.subarray(reader.start, reader.end)));
      }
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.#connError = err;
      conn.sock.destroy();
    }
  }

  #frame(f) {
    switch (f.frame) {
      case 'reply': {
        const id = toNumber(f.reply.id);
        const p = this.#pending.get(id);
        if (!p) throw new ProtocolError(`a reply to request ${id}, which is not pending`);
        this.#pending.delete(id);
        if (f.reply.result === 'error') p.onError(daemonError(errorCodeName(f.reply.error.code), f.reply.error.message));
        else p.onReply(f.reply);
        return;
      }
      case 'event':
        this.#event(f.event);
        return;
      case 'error':
        // The daemon closes the connection after it.
        this.#connError = daemonError(errorCodeName(f.error.code), f.error.message);
        return;
      default:
        throw new ProtocolError(`unexpected ${f.frame ?? 'empty'} frame from the daemon`);
    }
  }

  #event(ev) {
    if (ev.event === 'outcome') {
      const o = ev.outcome;
      const id = toNumber(o.sendId);
      const key = `${o.session}\0${id}`;
      const w = this.#waits.get(key);
      if (w) {
        this.#waits.delete(key);
        w.resolve({ id, outcome: sendResultName(o.result), reason: o.reason });
      }
      return;
    }
    const sub = this.#subsById.get(toNumber(ev.subscriptionId))?.[INTERNAL];
    if (!sub) return; // unsubscribed, its last events still on the way
    if (ev.event === 'message') sub.message(messageFromPb(ev.message));
    else if (ev.event === 'gap') sub.gap(gapFromPb(ev.gap));
    else if (ev.event === 'state') sub.state(statusFromPb(ev.state.status));
  }

  #write(frame) {
    const sock = this.#conn.sock;
    if (!this.#corked) {
      // Requests made in one tick go out in one write.
      this.#corked = true;
      sock.cork();
      process.nextTick(() => {
        this.#corked = false;
        sock.uncork();
      });
    }
    sock.write(frame);
  }

  /** Sends a request; onReply/onError run synchronously as the answer is read. */
  #request(op, onReply, onError) {
    if (this.#closed) {
      onError(this.#closeError ?? new WsbridgeError('CLOSED', 'the client was closed'));
      return;
    }
    const id = ++this.#nextId;
    const frame = encodeClientFrame({ request: { id, ...op } });
    this.#pending.set(id, { onReply, onError });
    if (this.#conn) this.#write(frame);
    else this.#outbox.push({ id, frame });
  }

  #call(op, kind) {
    return new Promise((resolve, reject) => {
      this.#request(op, (reply) => {
        try {
          resolve(expectResult(reply, kind));
        } catch (err) {
          reject(err);
        }
      }, reject);
    });
  }

  // ---------------------------------------------------------- API

  /** Every session's status, sorted by name. */
  async sessions() {
    const r = await this.#call({ listSessions: {} }, 'listSessions');
    return r.sessions.map(statusFromPb);
  }

  /** One session's status. */
  async status(session) {
    checkName('session', session);
    return statusFromPb(await this.#call({ getSession: { session } }, 'session'));
  }

  /**
   * Subscribes to a channel ('*': every message). The result is an async
   * iterable of Message, Gap and StateChange items and an EventEmitter
   * ('message', 'gap', 'state', 'subscribed', 'error', 'close').
   */
  subscribe(session, channel = '*', options = {}) {
    checkName('session', session);
    checkOptionalName('channel', channel);
    checkRecord('options', options);
    const sinceSeq = options.sinceSeq ?? 0;
    checkCount('sinceSeq', sinceSeq, 0);
    const epoch = toEpoch(options.epoch ?? 0);
    const highWaterMark = options.highWaterMark ?? 1024;
    checkCount('highWaterMark', highWaterMark, 1);
    const opening = options.opening ?? false;
    checkBoolean('opening', opening);
    if (opening && epoch !== 0) throw new TypeError('opening is for live subscriptions (without epoch)');
    if (this.#closed) throw this.#closeError ?? new WsbridgeError('CLOSED', 'the client was closed');
    const sub = new Subscription(this.#internal, session, channel || '*', Number(sinceSeq), epoch, highWaterMark, opening);
    this.#subscriptions.add(sub);
    sub[INTERNAL].subscribe();
    return sub;
  }

  /**
   * Sends one message upstream: a string as text, bytes as binary (or as
   * text with binary: false). Resolves to { id }, with wait to
   * { id, outcome: 'sent' | 'expired' | 'cancelled', reason }. A refused send
   * (full queue, bad UTF-8, too large) rejects with the daemon's error.
   */
  send(session, data, options = {}) {
    checkName('session', session);
    checkRecord('options', options);
    const bytes = checkData(data);
    const wait = options.wait ?? false;
    checkBoolean('wait', wait);
    const binary = options.binary ?? typeof data !== 'string';
    checkBoolean('binary', binary);
    const ttlMs = options.ttlMs ?? 0;
    checkCount('ttlMs', ttlMs, 0, 0xffffffff);
    return new Promise((resolve, reject) => {
      this.#request({ send: { session, data: bytes, binary, ttlMs } }, (reply) => {
        let id;
        try {
          id = toNumber(expectResult(reply, 'send').sendId);
        } catch (err) {
          reject(err);
          return;
        }
        if (!wait) resolve({ id });
        else this.#waits.set(`${session}\0${id}`, { resolve, reject });
      }, reject);
    });
  }

  /** The newest messages of a channel's history: { messages, gap, status }. */
  async history(session, channel = '*', options = {}) {
    checkName('session', session);
    checkOptionalName('channel', channel);
    checkRecord('options', options);
    const last = options.last ?? 0;
    checkCount('last', last, 0, 0xffffffff);
    const r = await this.#call({ history: { session, channel: channel || '*', last } }, 'history');
    return {
      messages: r.messages.map(messageFromPb),
      gap: r.gap ? gapFromPb(r.gap) : null,
      status: statusFromPb(r.status),
    };
  }

  /**
   * Creates a session at runtime. options holds session keys of
   * wsbridge.conf(5) (lists as arrays); persist writes it to sessions.d/.
   */
  async createSession(name, url, { options = {}, persist = false } = {}) {
    checkName('name', name);
    checkName('url', url);
    checkRecord('options', options);
    checkBoolean('persist', persist);
    const list = Object.entries(options).map(([key, value]) => {
      if (Array.isArray(value)) value = value.join(';');
      if (!['string', 'number', 'boolean'].includes(typeof value))
        throw new TypeError(`option ${key} must be a string, number, boolean or array, not ${typeof value}`);
      return { key, value: String(value) };
    });
    return statusFromPb(await this.#call({ createSession: { name, url, options: list, persist } }, 'session'));
  }

  async removeSession(session) {
    checkName('session', session);
    await this.#call({ removeSession: { session } }, 'ok');
  }

  async connectSession(session) {
    checkName('session', session);
    await this.#call({ connect: { session } }, 'ok');
  }

  async disconnectSession(session) {
    checkName('session', session);
    await this.#call({ disconnect: { session } }, 'ok');
  }
}

/**
 * Connects to wsbridged: at socketPath, else where wsbridgectl would
 * ($WSBRIDGE_SOCKET, else the system instance's with { system: true },
 * else the user instance's). Rejects with DaemonUnreachableError.
 */
export async function connect(socketPath, options) {
  if (socketPath !== null && typeof socketPath === 'object') {
    options = socketPath;
    socketPath = options.socket;
  }
  options ??= {};
  checkRecord('options', options);
  const client = new Client(defaultSocketPath(socketPath, { system: options.system ?? false }), options);
  await client[OPEN]();
  return client;
}
