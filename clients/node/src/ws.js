// A WebSocket shaped like the one of the `ws` package, over a subscription
// and a client of its own, so that an app moves onto a shared session by
// changing its import and its URL to wsbridge://SESSION[/CHANNEL].
// README.md ("Node") lists what differs from ws.
import { EventEmitter } from 'node:events';
import { connect } from './client.js';

const STATES = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'];
const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;
const SESSION_NAME = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
const BINARY_TYPES = ['nodebuffer', 'arraybuffer', 'fragments'];

/** wsbridge://SESSION[/CHANNEL] → { session, channel }; throws SyntaxError as ws does for bad URLs. */
function parseAddress(address) {
  let url;
  try {
    url = address instanceof URL ? address : new URL(address);
  } catch {
    throw new SyntaxError(`Invalid URL: ${address}`);
  }
  if (url.protocol !== 'wsbridge:')
    throw new SyntaxError(`The URL's protocol must be "wsbridge:" (wsbridge://SESSION[/CHANNEL]), not "${url.protocol}"`);
  if (url.username || url.password || url.port || url.search || url.hash)
    throw new SyntaxError(`The URL ${url.href} may hold only a session name and a channel`);
  const session = url.hostname;
  if (!SESSION_NAME.test(session))
    throw new SyntaxError(`The URL ${url.href} does not name a session ([a-z0-9][a-z0-9_.-]{0,63})`);
  let channel;
  try {
    channel = decodeURIComponent(url.pathname.slice(1));
  } catch {
    throw new SyntaxError(`The URL ${url.href} has a badly escaped channel`);
  }
  return { href: url.href, session, channel: channel || '*' };
}

function notOpen(state) {
  return new Error(`WebSocket is not open: readyState ${state} (${STATES[state]})`);
}

/** The event objects of addEventListener and the on* attributes, as ws makes them. */
function eventFor(target, type, args) {
  switch (type) {
    case 'message': {
      const [data, isBinary] = args;
      return { type, target, data: isBinary ? data : data.toString() };
    }
    case 'close':
      return { type, target, code: args[0], reason: args[1].toString(), wasClean: args[0] !== 1006 };
    case 'error':
      return { type, target, error: args[0], message: args[0]?.message ?? '' };
    default:
      return { type, target };
  }
}

export class WebSocket extends EventEmitter {
  static CONNECTING = CONNECTING;
  static OPEN = OPEN;
  static CLOSING = CLOSING;
  static CLOSED = CLOSED;

  #url;
  #session;
  #channel;
  #readyState = CONNECTING;
  #binaryType = 'nodebuffer';
  #bufferedAmount = 0;
  #client = null;
  #sub = null;
  #closeCode = 1006;
  #closeReason = Buffer.alloc(0);
  #finishing = false;
  #sending = new Set(); // sends the daemon has not answered yet
  #attributes = new Map(); // 'message' -> the wrapper of onmessage

  /**
   * @param {string | URL} address  wsbridge://SESSION[/CHANNEL]
   * @param {string | string[] | object} [protocols]  ignored (the session's subprotocols are configured)
   * @param {object} [options]  socket, system, reconnect, highWaterMark, clientName
   */
  constructor(address, protocols, options) {
    super();
    if (protocols !== null && typeof protocols === 'object' && !Array.isArray(protocols)) {
      options = protocols;
      protocols = undefined;
    }
    options ??= {};
    const { href, session, channel } = parseAddress(address);
    this.#url = href;
    this.#session = session;
    this.#channel = channel;
    this.#start(options);
  }

  get CONNECTING() { return CONNECTING; }
  get OPEN() { return OPEN; }
  get CLOSING() { return CLOSING; }
  get CLOSED() { return CLOSED; }

  get url() { return this.#url; }
  get readyState() { return this.#readyState; }
  get protocol() { return ''; }
  get extensions() { return ''; }
  /** Bytes passed to send() that the daemon has not accepted yet. */
  get bufferedAmount() { return this.#bufferedAmount; }
  get isPaused() { return this.#sub?.isPaused() ?? false; }

  get binaryType() { return this.#binaryType; }
  set binaryType(type) {
    if (BINARY_TYPES.includes(type)) this.#binaryType = type;
  }

  async #start(options) {
    try {
      this.#client = await connect(options.socket, {
        system: options.system, reconnect: options.reconnect, clientName: options.clientName,
      });
    } catch (err) {
      this.#emitError(err);
      this.#finish();
      return;
    }
    if (this.#readyState !== CONNECTING) {
      // close() or terminate() while connecting.
      this.#finish();
      return;
    }
    const sub = this.#client.subscribe(this.#session, this.#channel, { highWaterMark: options.highWaterMark });
    this.#sub = sub;
    sub.once('subscribed', () => {
      if (this.#readyState !== CONNECTING) return;
      this.#readyState = OPEN;
      this.emit('open');
    });
    sub.on('message', (m) => this.emit('message', this.#payload(m), m.binary));
    sub.on('gap', (gap) => this.emit('gap', gap));
    sub.on('state', (change) => this.emit('state', change));
    sub.on('error', (err) => {
      // The session is unknown, or the daemon is gone for good.
      this.#emitError(err);
      this.#finish();
    });
  }

  #payload(m) {
    if (!m.binary) return m.raw;
    if (this.#binaryType === 'arraybuffer') {
      const raw = m.raw;
      return raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length);
    }
    return this.#binaryType === 'fragments' ? [m.raw] : m.raw;
  }

  /** Errors reach listeners outside the client's read loop, as ws emits them from its socket's. */
  #emitError(err) {
    process.nextTick(() => this.emit('error', err));
  }

  #finish() {
    if (this.#finishing) return;
    this.#finishing = true;
    this.#readyState = CLOSING;
    const client = this.#client;
    this.#client = null;
    const done = () => {
      this.#readyState = CLOSED;
      process.nextTick(() => this.emit('close', this.#closeCode, this.#closeReason));
    };
    if (!client) {
      done();
      return;
    }
    // As ws sends what it has before its close frame, the sends made before
    // close() get their answers first; terminate() does not wait.
    const sends = this.#closeCode === 1006 ? [] : [...this.#sending];
    Promise.allSettled(sends).then(() => client.close()).then(done);
  }

  /**
   * Sends text (a string) or binary data (a Buffer, typed array or
   * ArrayBuffer; options.binary overrides). The callback runs when the
   * daemon accepted it, or with the error that refused it.
   */
  send(data, options, cb) {
    if (typeof options === 'function') {
      cb = options;
      options = {};
    }
    options ??= {};
    if (this.#readyState === CONNECTING) throw notOpen(CONNECTING);
    if (typeof data === 'number') data = data.toString();
    if (this.#readyState !== OPEN) {
      if (cb) process.nextTick(cb, notOpen(this.#readyState));
      return;
    }
    const binary = options.binary ?? typeof data !== 'string';
    const size = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength ?? 0;
    this.#bufferedAmount += size;
    const sent = this.#client.send(this.#session, data, { binary }).then(() => {
      cb?.();
    }, (err) => {
      if (cb) cb(err);
      else if (this.#readyState === OPEN) this.emit('error', err);
    }).finally(() => {
      this.#bufferedAmount -= size;
      this.#sending.delete(sent);
    });
    this.#sending.add(sent);
  }

  /**
   * Ends the subscription and the connection to the daemon; 'close' follows
   * with this code and reason (1005 and '' without). The session itself
   * stays open for its other users.
   */
  close(code, reason) {
    if (this.#readyState === CLOSED || this.#readyState === CLOSING) return;
    if (code !== undefined && !(typeof code === 'number' && (code === 1000 || (code >= 3000 && code <= 4999))))
      throw new TypeError('First argument must be a valid error code number');
    const text = reason === undefined ? Buffer.alloc(0) : Buffer.from(String(reason));
    if (text.length > 123) throw new SyntaxError('The message must not be greater than 123 bytes');
    this.#closeCode = code ?? 1005;
    this.#closeReason = text;
    if (this.#readyState === CONNECTING) {
      this.#emitError(new Error('WebSocket was closed before the connection was established'));
      this.#closeCode = 1006;
    }
    this.#stop();
  }

  /** Finishes now, or (while connect() is under way) once #start can. */
  #stop() {
    if (this.#client) this.#finish();
    else this.#readyState = CLOSING;
  }

  /** Closes at once; 'close' comes with 1006. */
  terminate() {
    if (this.#readyState === CLOSED || this.#finishing) return;
    this.#closeCode = 1006;
    this.#closeReason = Buffer.alloc(0);
    this.#stop();
  }

  /**
   * Checks the bridge: asks the daemon for the session's state, and emits
   * 'pong' (with data) when the session is open upstream. The daemon pings
   * the upstream server itself (ping_interval, pong_timeout).
   */
  ping(data, mask, cb) {
    if (typeof data === 'function') {
      cb = data;
      data = undefined;
    } else if (typeof mask === 'function') {
      cb = mask;
    }
    if (this.#readyState === CONNECTING) throw notOpen(CONNECTING);
    if (this.#readyState !== OPEN) {
      if (cb) process.nextTick(cb, notOpen(this.#readyState));
      return;
    }
    const payload = data === undefined ? Buffer.alloc(0) : Buffer.from(typeof data === 'number' ? String(data) : data);
    this.#client.status(this.#session).then((status) => {
      cb?.();
      if (status.state === 'open') this.emit('pong', payload);
    }, (err) => {
      if (cb) cb(err);
      else this.emit('error', err);
    });
  }

  /** Stops emitting messages (they wait, bounded; then the daemon's slow-client policy applies). */
  pause() {
    this.#sub?.pause();
  }

  resume() {
    this.#sub?.resume();
  }

  addEventListener(type, handler, options = {}) {
    if (typeof handler !== 'function' && typeof handler?.handleEvent !== 'function') return;
    for (const l of this.rawListeners(type)) if (l.handler === handler && !l.attribute) return;
    const wrapper = (...args) => {
      const event = eventFor(this, type, args);
      if (typeof handler === 'function') handler.call(this, event);
      else handler.handleEvent(event);
    };
    wrapper.handler = handler;
    if (options.once) this.once(type, wrapper);
    else this.on(type, wrapper);
    return wrapper;
  }

  removeEventListener(type, handler) {
    for (const l of this.rawListeners(type)) {
      const wrapper = l.listener ?? l; // once() wraps the listener
      if (wrapper.handler === handler && !wrapper.attribute) {
        this.removeListener(type, wrapper);
        return;
      }
    }
  }

  #setAttribute(type, handler) {
    const old = this.#attributes.get(type);
    if (old) this.removeListener(type, old);
    this.#attributes.delete(type);
    if (typeof handler !== 'function') return;
    const wrapper = (...args) => handler.call(this, eventFor(this, type, args));
    wrapper.handler = handler;
    wrapper.attribute = true;
    this.#attributes.set(type, wrapper);
    this.on(type, wrapper);
  }

  get onopen() { return this.#attributes.get('open')?.handler ?? null; }
  set onopen(fn) { this.#setAttribute('open', fn); }
  get onmessage() { return this.#attributes.get('message')?.handler ?? null; }
  set onmessage(fn) { this.#setAttribute('message', fn); }
  get onclose() { return this.#attributes.get('close')?.handler ?? null; }
  set onclose(fn) { this.#setAttribute('close', fn); }
  get onerror() { return this.#attributes.get('error')?.handler ?? null; }
  set onerror(fn) { this.#setAttribute('error', fn); }
}
