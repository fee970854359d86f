'use strict';
// A WebSocket shaped like the one of the `ws` package, over a subscription
// and a client of its own, so that an app moves onto a shared session by
// changing its import and its URL to wsbridge://SESSION[/CHANNEL].
//
// One WebSocket is one upstream connection, as the app's code assumes: it
// opens when the session is open (with the messages that connection opened
// with), and when the session's connection ends it closes with the
// server's code and reason (1006 for a drop), so the app's own reconnect
// code runs. `sticky: true` keeps one WebSocket across reconnects instead.
//
// CommonJS, so that require('wsbridge/ws') is the constructor as
// require('ws') is; the native client (ESM) is loaded with import().
// clients/node/README.md lists what differs from ws.
const { EventEmitter } = require('node:events');
const { Duplex } = require('node:stream');

const STATES = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'];
const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;
const SESSION_NAME = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
const BINARY_TYPES = ['nodebuffer', 'arraybuffer', 'fragments', 'blob'];
const EMPTY = Buffer.alloc(0);
const EVENT_TYPES = new Set(['open', 'message', 'close', 'error']);
const DEFAULT_PING_INTERVAL_MS = 5000;

let native = null;
const nativeClient = () => (native ??= import('./client.js'));

// Options of this face (not ws's).
const OWN_OPTIONS = new Set(['socket', 'system', 'reconnect', 'highWaterMark', 'clientName', 'sticky', 'pingInterval']);
// ws options that hold as they are: honoured (handshakeTimeout) or with
// nothing to do over a local socket (README.md, "Options").
const HOLDING_OPTIONS = new Set(['handshakeTimeout', 'closeTimeout', 'autoPong', 'allowSynchronousEvents',
  'maxBufferedChunks', 'maxFragments']);
// ws options the shared session has instead: the session key that covers them.
const SESSION_KEYS = {
  protocols: 'subprotocols',
  protocol: 'subprotocols',
  headers: 'headers',
  origin: 'origin',
  perMessageDeflate: 'compression',
  auth: 'headers (or token_file)',
  finishRequest: 'headers (or auth_command)',
  maxPayload: 'max_message_bytes',
  followRedirects: 'url (the daemon connects to the session\'s URL)',
  maxRedirects: 'url (the daemon connects to the session\'s URL)',
  agent: 'proxy',
  ca: 'tls_ca_file',
  cert: 'tls_cert_file',
  key: 'tls_key_file',
  pfx: 'tls_cert_file and tls_key_file',
  passphrase: 'tls_key_file (unencrypted)',
  rejectUnauthorized: 'tls_insecure',
  checkServerIdentity: 'tls_pin_sha256',
  servername: 'url',
  protocolVersion: 'none: the daemon speaks version 13',
  generateMask: 'none: the daemon masks its frames',
  skipUTF8Validation: 'none: the daemon validates text',
};
const warned = new Set();

/** One warning per process and option: what the app asked for and what covers it. */
function warnOption(name, session) {
  if (warned.has(name)) return;
  warned.add(name);
  const key = SESSION_KEYS[name] ?? 'none: the daemon opens the connection';
  process.emitWarning(`the ${name} option does not reach the server through wsbridge://${session}: `
    + `the session's own settings apply (session key: ${key})`,
  { type: 'WsbridgeWarning', code: 'WSBRIDGE_WS_OPTION' });
}

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

/** The close codes ws lets an app send. */
function isValidStatusCode(code) {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006)
    || (code >= 3000 && code <= 4999);
}

function notOpen(state) {
  return new Error(`WebSocket is not open: readyState ${state} (${STATES[state]})`);
}

/** What ws's send() takes, as bytes (a string stays a string). */
function toData(data) {
  if (typeof data === 'number') return data.toString();
  if (typeof data === 'string' || Buffer.isBuffer(data)) return data;
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  return Buffer.from(data); // arrays and objects, as ws (TypeError for the rest)
}

const isBlob = (data) => typeof Blob !== 'undefined' && data instanceof Blob;

/** The size in bytes of what send() takes. */
function byteLength(data) {
  if (typeof data === 'string') return Buffer.byteLength(data);
  if (isBlob(data)) return data.size;
  return data ? toData(data).length : 0;
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

class WebSocket extends EventEmitter {
  #url;
  #session;
  #channel;
  #sticky;
  #pingInterval;
  #readyState = CONNECTING;
  #binaryType = 'nodebuffer';
  #bufferedAmount = 0;
  #client = null;
  #sub = null;
  #closeCode = 1006;
  #closeReason = EMPTY;
  #finishing = false;
  #sending = new Set(); // sends the daemon has not answered yet
  #queue = null; // sends waiting for a Blob before them to be read …
  #reading = 0; // … and how many
  #fragments = null; // send(…, { fin: false }) parts: [binary, ...buffers]
  #attributes = new Map(); // 'message' -> the wrapper of onmessage
  #handshakeTimer = null;
  #pingTimer = null;
  #paused = false;

  /**
   * @param {string | URL} address  wsbridge://SESSION[/CHANNEL]
   * @param {string | string[] | object} [protocols]  the session's subprotocols apply (a warning)
   * @param {object} [options]  socket, system, sticky, reconnect, pingInterval, highWaterMark,
   *   clientName; of ws's: handshakeTimeout (others: README.md, "Options")
   */
  constructor(address, protocols, options) {
    super();
    if (protocols === undefined) {
      protocols = [];
    } else if (!Array.isArray(protocols)) {
      if (typeof protocols === 'object' && protocols !== null) {
        options = protocols;
        protocols = [];
      } else {
        protocols = [protocols];
      }
    }
    options = { ...options };
    const { href, session, channel } = parseAddress(address);
    this.#url = href;
    this.#session = session;
    this.#channel = channel;
    if (protocols.length > 0) warnOption('protocols', session);
    for (const [name, value] of Object.entries(options))
      if (value !== undefined && !OWN_OPTIONS.has(name) && !HOLDING_OPTIONS.has(name)) warnOption(name, session);
    this.#sticky = options.sticky === true;
    this.#pingInterval = options.pingInterval ?? DEFAULT_PING_INTERVAL_MS;
    if (typeof this.#pingInterval !== 'number' || !(this.#pingInterval > 0))
      throw new RangeError(`pingInterval must be a positive number of milliseconds, not ${options.pingInterval}`);
    if (options.handshakeTimeout > 0) {
      this.#handshakeTimer = setTimeout(() => this.#abort('Opening handshake has timed out'), options.handshakeTimeout);
    }
    this.#start(options);
  }

  get url() { return this.#url; }
  get readyState() { return this.#readyState; }
  /** '': the session's subprotocols are its own (session key subprotocols). */
  get protocol() { return ''; }
  get extensions() { return ''; }
  /** Bytes passed to send() that the daemon has not accepted yet. */
  get bufferedAmount() { return this.#bufferedAmount; }
  get isPaused() { return this.#paused; }

  get binaryType() { return this.#binaryType; }
  set binaryType(type) {
    if (BINARY_TYPES.includes(type)) this.#binaryType = type;
  }

  async #start(options) {
    let client;
    let PAYLOADS;
    try {
      let connect;
      ({ connect, PAYLOADS } = await nativeClient());
      client = await connect(options.socket, {
        system: options.system, clientName: options.clientName,
        // One connection's life: the daemon's going is its end (sticky: resumed).
        reconnect: this.#sticky ? options.reconnect : false,
      });
    } catch (err) {
      this.#finish(err);
      return;
    }
    if (this.#finishing) {
      client.close().catch(() => {});
      return;
    }
    this.#client = client;
    const sub = client.subscribe(this.#session, this.#channel, {
      highWaterMark: options.highWaterMark, opening: !this.#sticky,
    });
    this.#sub = sub;
    sub.once('subscribed', (status) => {
      if (this.#sticky || status.state === 'open') this.#opened();
    });
    // Until the face opens, messages are of a connection before the one it
    // waits for. The payloads come without a Message made for each.
    sub[PAYLOADS]((raw, binary) => {
      if (this.#readyState === OPEN) this.emit('message', this.#payload(raw, binary), binary);
    });
    sub.on('gap', (gap) => {
      if (this.#readyState === OPEN) this.emit('gap', gap);
    });
    sub.on('state', (change) => this.#state(change));
    sub.on('error', (err) => {
      // The session is unknown, or the daemon is gone. An open face sees the
      // end of its connection (1006), as ws a dropped TCP connection.
      if (this.#readyState === OPEN && !this.#sticky && err.name === 'DaemonUnreachableError') this.#finish();
      else this.#finish(err);
    });
  }

  #opened() {
    if (this.#readyState !== CONNECTING || this.#finishing) return;
    clearTimeout(this.#handshakeTimer);
    this.#readyState = OPEN;
    this.#pingTimer = setInterval(() => this.#heartbeat(), this.#pingInterval);
    this.#pingTimer.unref();
    this.emit('open');
  }

  #state(change) {
    this.emit('state', change);
    if (this.#sticky || this.#finishing) return;
    if (change.state === 'open') {
      if (this.#readyState === CONNECTING) this.#opened();
      return;
    }
    if (this.#readyState === CONNECTING) return;
    // The session's connection ended. While it closes ('closing'), the face
    // is CLOSING; the next state says how it ended.
    this.#readyState = CLOSING;
    // A removed session says so while it closes; no later state comes.
    if (change.state === 'closing' && change.reason !== 'session removed') return;
    // ws has no reason for 1006 (no close frame); the daemon's account of
    // the drop is the 'state' event's reason.
    this.#closeCode = change.status.closeCode || 1006;
    this.#closeReason = this.#closeCode === 1006 ? EMPTY : Buffer.from(change.status.closeReason ?? '');
    this.#finish();
  }

  /** 'ping' while the daemon says the session is open (it pings the server itself). */
  #heartbeat() {
    if (this.#readyState !== OPEN || this.listenerCount('ping') === 0) return;
    this.#client.status(this.#session).then((status) => {
      if (this.#readyState === OPEN && status.state === 'open') this.emit('ping', EMPTY);
    }, () => {});
  }

  #payload(raw, binary) {
    if (!binary) return raw;
    switch (this.#binaryType) {
      case 'arraybuffer':
        return raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length);
      case 'fragments':
        return [raw];
      case 'blob':
        return new Blob([raw]);
      default:
        return raw;
    }
  }

  /**
   * Ends the face: the subscription and the connection to the daemon; then
   * 'error' (with ERROR), and 'close' with #closeCode and #closeReason.
   * Sends made before a close() get their answers first.
   */
  #finish(error = null, waitSends = false) {
    if (this.#finishing) return;
    this.#finishing = true;
    this.#readyState = CLOSING;
    clearTimeout(this.#handshakeTimer);
    clearInterval(this.#pingTimer);
    const client = this.#client;
    this.#client = null;
    this.#sub = null;
    // After close(), what was sent before it goes out first (a Blob's read too).
    const sent = waitSends ? (this.#queue ?? Promise.resolve()).then(() => Promise.allSettled([...this.#sending]))
      : Promise.resolve();
    const closed = client ? sent.then(() => client.close()).catch(() => {}) : Promise.resolve();
    closed.then(() => process.nextTick(() => {
      if (error) this.emit('error', error);
      this.#readyState = CLOSED;
      this.emit('close', this.#closeCode, this.#closeReason);
    }));
  }

  /** As ws's abortHandshake: 'error' with MESSAGE, then 'close' with 1006. */
  #abort(message) {
    this.#closeCode = 1006;
    this.#closeReason = EMPTY;
    this.#finish(new Error(message));
  }

  /**
   * Sends text (a string) or binary data (a Buffer, typed array,
   * ArrayBuffer, array; options.binary overrides). The callback runs when
   * the daemon accepted it, or with the error that refused it.
   */
  send(data, options, cb) {
    if (this.#readyState === CONNECTING) throw notOpen(CONNECTING);
    if (typeof options === 'function') {
      cb = options;
      options = {};
    }
    options ??= {};
    if (typeof data === 'number') data = data.toString();
    if (this.#readyState !== OPEN) {
      this.#afterClose(data, cb);
      return;
    }
    const client = this.#client;
    if (!isBlob(data) && this.#reading === 0) {
      this.#write(client, data, options, cb);
      return;
    }
    // A Blob is read first, as ws does; what is sent after it waits, in order.
    const size = byteLength(data);
    this.#bufferedAmount += size;
    this.#reading++;
    const read = isBlob(data) ? data.arrayBuffer().then((ab) => Buffer.from(ab)) : Promise.resolve(data);
    this.#queue = (this.#queue ?? Promise.resolve()).then(() => read).then((bytes) => {
      this.#write(client, bytes, options, cb);
    }, (err) => {
      if (cb) cb(err);
      else this.emit('error', err);
    }).finally(() => {
      this.#reading--;
      this.#bufferedAmount -= size;
    });
  }

  #write(client, data, options, cb) {
    data = toData(data || EMPTY);
    let binary = options.binary ?? typeof data !== 'string';
    if (options.fin === false || this.#fragments) {
      // Fragments: the daemon sends the whole message once the last one is given.
      this.#fragments ??= [binary];
      this.#fragments.push(Buffer.from(data));
      if (options.fin === false) {
        if (cb) process.nextTick(cb);
        return;
      }
      [binary] = this.#fragments;
      data = Buffer.concat(this.#fragments.slice(1));
      this.#fragments = null;
    }
    const size = byteLength(data);
    this.#bufferedAmount += size;
    const sent = client.send(this.#session, data, { binary }).then(() => {
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

  /** send(), ping() or pong() when CLOSING or CLOSED: counted in bufferedAmount, as ws does, and refused. */
  #afterClose(data, cb) {
    if (data) this.#bufferedAmount += byteLength(data);
    if (cb) process.nextTick(cb, notOpen(this.#readyState));
  }

  /**
   * Ends this WebSocket (its subscription and its connection to the
   * daemon); 'close' follows with this code and reason (1005 and an empty
   * reason without). The session itself stays open for its other users.
   */
  close(code, data) {
    if (this.#readyState === CLOSED) return;
    if (this.#readyState === CONNECTING) {
      this.#abort('WebSocket was closed before the connection was established');
      return;
    }
    if (this.#readyState === CLOSING) return;
    let reason = EMPTY;
    if (code !== undefined) {
      if (typeof code !== 'number' || !isValidStatusCode(code))
        throw new TypeError('First argument must be a valid error code number');
      if (data !== undefined && data.length) {
        if (typeof data === 'string') reason = Buffer.from(data);
        else if (data instanceof Uint8Array) reason = Buffer.from(data);
        else throw new TypeError('Second argument must be a string or a Uint8Array');
        if (reason.length > 123) throw new RangeError('The message must not be greater than 123 bytes');
      }
    }
    this.#closeCode = code ?? 1005;
    this.#closeReason = reason;
    this.#finish(null, true);
  }

  /** Closes at once; 'close' comes with 1006. */
  terminate() {
    if (this.#readyState === CLOSED) return;
    if (this.#readyState === CONNECTING) {
      this.#abort('WebSocket was closed before the connection was established');
      return;
    }
    if (this.#finishing) return;
    this.#closeCode = 1006;
    this.#closeReason = EMPTY;
    this.#finish();
  }

  /** ping()/pong(): the arguments as ws takes them; throws while CONNECTING. */
  #control(data, mask, cb) {
    if (this.#readyState === CONNECTING) throw notOpen(CONNECTING);
    if (typeof data === 'function') {
      cb = data;
      data = undefined;
    } else if (typeof mask === 'function') {
      cb = mask;
    }
    if (typeof data === 'number') data = data.toString();
    if (this.#readyState !== OPEN) {
      this.#afterClose(data, cb);
      return null;
    }
    const payload = data ? Buffer.from(toData(data)) : EMPTY;
    if (payload.length > 125) throw new RangeError('The data size must not be greater than 125 bytes');
    return { payload, cb };
  }

  /**
   * Checks the bridge: asks the daemon for the session's state, and emits
   * 'pong' (with data) when the session is open upstream. The daemon pings
   * the upstream server itself (session keys ping_interval, pong_timeout).
   */
  ping(data, mask, cb) {
    const args = this.#control(data, mask, cb);
    if (!args) return;
    this.#client.status(this.#session).then((status) => {
      args.cb?.();
      if (this.#readyState === OPEN && status.state === 'open') this.emit('pong', args.payload);
    }, (err) => {
      if (args.cb) args.cb(err);
      else this.emit('error', err);
    });
  }

  /** Nothing to send: the daemon answers the server's pings itself. */
  pong(data, mask, cb) {
    const args = this.#control(data, mask, cb);
    if (args?.cb) process.nextTick(args.cb);
  }

  /** Stops emitting messages (they wait, bounded; then the daemon's slow-client policy applies). */
  pause() {
    if (this.#readyState === CONNECTING || this.#readyState === CLOSED) return;
    this.#paused = true;
    this.#sub?.pause();
  }

  resume() {
    if (this.#readyState === CONNECTING || this.#readyState === CLOSED) return;
    this.#paused = false;
    this.#sub?.resume();
  }

  /** As ws: for 'open', 'message', 'close' and 'error' only. */
  addEventListener(type, handler, options = {}) {
    if (!EVENT_TYPES.has(type)) return;
    if (typeof handler !== 'function' && typeof handler?.handleEvent !== 'function') return;
    for (const l of this.rawListeners(type)) if ((l.listener ?? l).handler === handler && !(l.listener ?? l).attribute) return;
    const wrapper = (...args) => {
      const event = eventFor(this, type, args);
      if (typeof handler === 'function') handler.call(this, event);
      else handler.handleEvent(event);
    };
    wrapper.handler = handler;
    if (options.once) this.once(type, wrapper);
    else this.on(type, wrapper);
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

// As ws: the constants and attributes are enumerable.
for (const [i, name] of STATES.entries()) {
  Object.defineProperty(WebSocket, name, { enumerable: true, value: i });
  Object.defineProperty(WebSocket.prototype, name, { enumerable: true, value: i });
}
for (const name of ['binaryType', 'bufferedAmount', 'extensions', 'isPaused', 'protocol', 'readyState', 'url',
  'onopen', 'onmessage', 'onclose', 'onerror']) {
  Object.defineProperty(WebSocket.prototype, name, {
    ...Object.getOwnPropertyDescriptor(WebSocket.prototype, name), enumerable: true,
  });
}

/**
 * A Duplex over WS, as ws's createWebSocketStream: what it reads are the
 * messages, what is written is sent (as binary, as with ws); ending the
 * writable side closes WS, destroying the stream terminates it.
 */
function createWebSocketStream(ws, options) {
  let terminate = true;
  const duplex = new Duplex({ ...options, autoDestroy: false, emitClose: false, objectMode: false, writableObjectMode: false });
  const whenOpen = (fn) => (ws.readyState === CONNECTING ? ws.once('open', fn) : fn());

  ws.on('message', (data, isBinary) => {
    const chunk = !isBinary && duplex.readableObjectMode ? data.toString() : data;
    if (!duplex.push(chunk)) ws.pause();
  });
  ws.once('error', (err) => {
    if (duplex.destroyed) return;
    terminate = false; // ws closes itself after an error
    duplex.destroy(err);
  });
  ws.once('close', () => {
    if (!duplex.destroyed) duplex.push(null);
  });

  duplex._read = () => {
    if (ws.isPaused) ws.resume();
  };
  duplex._write = (chunk, encoding, cb) => whenOpen(() => ws.send(chunk, cb));
  duplex._final = (cb) => whenOpen(() => {
    if (ws.readyState === CLOSED) {
      cb();
      return;
    }
    ws.once('close', () => cb());
    ws.close();
  });
  duplex._destroy = (err, cb) => {
    const done = (e) => {
      cb(e);
      process.nextTick(() => duplex.emit('close'));
    };
    if (ws.readyState === CLOSED) {
      done(err);
      return;
    }
    let failed = null;
    ws.once('error', (e) => { failed = e; });
    ws.once('close', () => done(err ?? failed));
    if (terminate) ws.terminate();
  };
  // Both sides done: the stream is.
  duplex.on('end', () => {
    if (duplex.writableFinished) duplex.destroy();
  });
  duplex.on('finish', () => {
    if (duplex.readableEnded) duplex.destroy();
  });
  return duplex;
}

module.exports = WebSocket;
WebSocket.WebSocket = WebSocket;
WebSocket.createWebSocketStream = createWebSocketStream;
