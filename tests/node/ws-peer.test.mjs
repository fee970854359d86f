// The client behaviours of ws's own client tests (test/websocket.test.js of
// github.com/websockets/ws, one entry per `it`), written afresh against the
// face: each is covered here (or by the named test of this suite), or is
// different (clients/node/README.md lists it with its reason), or tests
// ws's internals (HTTP handshake parsing, redirects, frames, masks,
// compression, TLS of its own socket: wsbridged's, tested in tests/integration).
// node_ws_peer_counts_in_the_readme checks the README's counts against this table.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { WebSocket } from '../../clients/node/src/index.js';
import { SOURCE_ROOT, waitFor, wsbTest } from './harness.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const STATES = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'];
const enumerable = (name) => {
  const d = Object.getOwnPropertyDescriptor(WebSocket.prototype, name);
  assert.ok(d && d.enumerable && d.configurable, `${name} is enumerable and configurable`);
};
/** [the error or null, code, reason] of a WebSocket that ends. */
const ending = (ws) => new Promise((resolve) => {
  let error = null;
  ws.once('error', (e) => { error = e; });
  ws.once('close', (code, reason) => resolve([error, code, reason.toString()]));
});
/** The arguments of WS's 'close' (events.once would reject at an 'error'). */
const closeOf = (ws) => new Promise((resolve) => ws.once('close', (...args) => resolve(args)));
const closed = async (ws) => {
  if (ws.readyState === WebSocket.CLOSED) return;
  const done = once(ws, 'close');
  ws.close();
  await done;
};
/** The server's received list includes ITEM (a string or a Buffer). */
const arrives = (c, item) => waitFor(async () => (await c.server.received()).some((m) =>
  (typeof item === 'string' ? m === item : Buffer.isBuffer(m) && m.equals(item))), 5000 * c.h.slow,
`${typeof item === 'string' ? JSON.stringify(item) : `${item.length} bytes`} at the server`);

// ------------------------------------------------------------ the table

const INTERNAL_HANDSHAKE = 'ws\'s HTTP upgrade checks: the daemon makes and checks the handshake (tests/integration)';
const INTERNAL_REDIRECT = 'which headers ws drops on a redirect: the daemon connects to the session\'s URL (no redirects)';
const INTERNAL_FRAMES = 'frame-level internals of ws\'s socket (receiver and sender errors, close frames, masks)';
const INTERNAL_DEFLATE = 'ws\'s permessage-deflate streams: compression is the daemon\'s (session key compression)';
const DIFF_NO_HTTP = 'no HTTP request or response reaches the app: the daemon connects (README, differences)';
const DIFF_TLS = 'TLS is the daemon\'s, set per session (tls_ca_file, tls_cert_file, tls_key_file, tls_insecure, tls_pin_sha256)';
const DIFF_OPTION = (key) => `the session has it (session key ${key}); the option warns once (README, options)`;

/** [ws test, 'covered', check | 'name of the test covering it'] or [ws test, 'different' | 'internal', reason]. */
export const TABLE = [
  ['#ctor > throws an error when using an invalid url', 'covered', async () => {
    for (const bad of ['foo', 'wsbridge://Bad', 'ws://localhost/', 'wsbridge://feed#frag'])
      assert.throws(() => new WebSocket(bad), SyntaxError, bad);
  }],
  ['#ctor > throws an error if a subprotocol is invalid or duplicated', 'different', DIFF_OPTION('subprotocols')],
  ['#ctor > accepts `url.URL` objects as url', 'covered', async (c) => {
    const ws = new WebSocket(new URL('wsbridge://feed'), c.opts);
    assert.equal(ws.url, 'wsbridge://feed');
    await once(ws, 'open');
    await closed(ws);
  }],
  ['#ctor > allows the http scheme', 'different', 'the URL names a session: wsbridge://SESSION[/CHANNEL]'],
  ['#ctor > allows the https scheme', 'different', 'the URL names a session: wsbridge://SESSION[/CHANNEL]'],
  ['#ctor > options > accepts the `options` object as 3rd argument', 'covered', async (c) => {
    const ws = new WebSocket('wsbridge://feed', [], c.opts);
    await once(ws, 'open');
    await closed(ws);
  }],
  ['#ctor > options > accepts the receiver limit options', 'different', DIFF_OPTION('max_message_bytes')],
  ['#ctor > options > throws an error when using an invalid `protocolVersion`', 'different',
    'the daemon speaks version 13; protocolVersion warns once'],
  ['#ctor > options > honors the `generateMask` option', 'internal', INTERNAL_FRAMES],
  ['#ctor > options > honors the `autoPong` option', 'different', 'the daemon answers the server\'s pings itself'],
  ['#ctor > options > honors the `closeTimeout` option', 'different', 'close() ends the face at once: there is no closing handshake to wait for'],
  ['Constants > `${state}` > is enumerable property of class', 'covered', async () => {
    for (const [i, s] of STATES.entries()) {
      const d = Object.getOwnPropertyDescriptor(WebSocket, s);
      assert.deepEqual([d.enumerable, d.value], [true, i]);
    }
  }],
  ['Constants > `${state}` > is enumerable property of prototype', 'covered', async () => {
    for (const [i, s] of STATES.entries()) {
      const d = Object.getOwnPropertyDescriptor(WebSocket.prototype, s);
      assert.deepEqual([d.enumerable, d.value], [true, i]);
    }
  }],
  ['Attributes > `binaryType` > is enumerable and configurable', 'covered', async () => enumerable('binaryType')],
  ['Attributes > `binaryType` > defaults to \'nodebuffer\'', 'covered', async (c) => {
    const ws = new WebSocket('wsbridge://feed', c.opts);
    assert.equal(ws.binaryType, 'nodebuffer');
    ws.terminate();
    await ending(ws);
  }],
  ['Attributes > `binaryType` > can be changed to \'arraybuffer\' or \'fragments\'', 'covered', async (c) => {
    const ws = new WebSocket('wsbridge://feed', c.opts);
    for (const t of ['arraybuffer', 'foo', 'fragments', 'nodebuffer']) {
      const before = ws.binaryType;
      ws.binaryType = t;
      assert.equal(ws.binaryType, t === 'foo' ? before : t);
    }
    ws.terminate();
    await ending(ws);
  }],
  ['Attributes > `bufferedAmount` > is enumerable and configurable', 'covered', async () => enumerable('bufferedAmount')],
  ['Attributes > `bufferedAmount` > defaults to zero', 'covered', async (c) => {
    const ws = new WebSocket('wsbridge://feed', c.opts);
    assert.equal(ws.bufferedAmount, 0);
    ws.terminate();
    await ending(ws);
  }],
  ['Attributes > `bufferedAmount` > defaults to zero upon "open"', 'covered', async (c) => {
    const ws = await c.open();
    assert.equal(ws.bufferedAmount, 0);
    await closed(ws);
  }],
  ['Attributes > `bufferedAmount` > takes into account the data in the sender queue', 'covered', async (c) => {
    const ws = await c.open();
    ws.send('x'.repeat(1000));
    ws.send(Buffer.alloc(24));
    assert.equal(ws.bufferedAmount, 1024);
    await waitFor(() => ws.bufferedAmount === 0, 5000 * c.h.slow, 'the daemon to take them');
    await closed(ws);
  }],
  ['Attributes > `bufferedAmount` > takes into account the data in the socket queue', 'internal',
    'the kernel\'s socket buffer of ws\'s own socket'],
  ['Attributes > `extensions` > is enumerable and configurable', 'covered', async () => enumerable('extensions')],
  ['Attributes > `extensions` > exposes the negotiated extensions names (1/2)', 'different',
    'extensions is \'\': what the daemon negotiated is the session\'s (session key compression)'],
  ['Attributes > `extensions` > exposes the negotiated extensions names (2/2)', 'different',
    'extensions is \'\': what the daemon negotiated is the session\'s (session key compression)'],
  ['Attributes > `isPaused` > is enumerable and configurable', 'covered', async () => enumerable('isPaused')],
  ['Attributes > `isPaused` > indicates whether the websocket is paused', 'covered', async (c) => {
    const ws = await c.open();
    assert.equal(ws.isPaused, false);
    ws.pause();
    assert.equal(ws.isPaused, true);
    ws.resume();
    assert.equal(ws.isPaused, false);
    await closed(ws);
  }],
  ['Attributes > `protocol` > is enumerable and configurable', 'covered', async () => enumerable('protocol')],
  ['Attributes > `protocol` > exposes the subprotocol selected by the server', 'different',
    'protocol is \'\': the subprotocol is the session\'s (session key subprotocols)'],
  ['Attributes > `readyState` > is enumerable and configurable', 'covered', async () => enumerable('readyState')],
  ['Attributes > `readyState` > defaults to `CONNECTING`', 'covered', async (c) => {
    const ws = new WebSocket('wsbridge://feed', c.opts);
    assert.equal(ws.readyState, WebSocket.CONNECTING);
    ws.terminate();
    await ending(ws);
  }],
  ['Attributes > `readyState` > is set to `OPEN` once connection is established', 'covered', async (c) => {
    const ws = new WebSocket('wsbridge://feed', c.opts);
    await once(ws, 'open');
    assert.equal(ws.readyState, WebSocket.OPEN);
    await closed(ws);
  }],
  ['Attributes > `readyState` > is set to `CLOSED` once connection is closed', 'covered', async (c) => {
    const ws = await c.open();
    ws.close(1001);
    await once(ws, 'close');
    assert.equal(ws.readyState, WebSocket.CLOSED);
  }],
  ['Attributes > `readyState` > is set to `CLOSED` once connection is terminated', 'covered', async (c) => {
    const ws = await c.open();
    ws.terminate();
    await once(ws, 'close');
    assert.equal(ws.readyState, WebSocket.CLOSED);
  }],
  ['Attributes > `url` > is enumerable and configurable', 'covered', async () => enumerable('url')],
  ['Attributes > `url` > exposes the server url', 'covered', async (c) => {
    const ws = new WebSocket('wsbridge://feed/some%20channel', c.opts);
    assert.equal(ws.url, 'wsbridge://feed/some%20channel');
    ws.terminate();
    await ending(ws);
  }],
  ['Events > emits an \'error\' event if an error occurs (1/2)', 'internal', INTERNAL_FRAMES],
  ['Events > emits an \'error\' event if an error occurs (2/2)', 'internal', INTERNAL_FRAMES],
  ['Events > emits the \'error\' event only once (1/2)', 'internal', INTERNAL_FRAMES],
  ['Events > emits the \'error\' event only once (2/2)', 'internal', INTERNAL_FRAMES],
  ['Events > does not emit \'error\' after \'close\'', 'covered', async (c) => {
    const ws = new WebSocket('wsbridge://nosuchsession', c.opts);
    const errors = [];
    ws.on('error', (e) => errors.push(e));
    await closeOf(ws);
    await sleep(100);
    assert.equal(errors.length, 1, 'one error (NotFound), before close');
  }],
  ['Events > does not re-emit `net.Socket` errors', 'internal', 'errors of ws\'s own net.Socket'],
  ['Events > emits an \'upgrade\' event', 'different', DIFF_NO_HTTP],
  ['Events > emits a \'ping\' event', 'covered', async (c) => {
    const ws = new WebSocket('wsbridge://feed', { ...c.opts, pingInterval: 50 });
    const [data] = await once(ws, 'ping');
    assert.ok(Buffer.isBuffer(data));
    await closed(ws);
  }],
  ['Events > emits a \'pong\' event', 'covered', async (c) => {
    const ws = await c.open();
    ws.ping('hi');
    const [data] = await once(ws, 'pong');
    assert.equal(data.toString(), 'hi');
    await closed(ws);
  }],
  ['Events > emits a \'redirect\' event', 'different', DIFF_NO_HTTP],
  ['Connection establishing > fails if the Upgrade header field value cannot be read', 'internal', INTERNAL_HANDSHAKE],
  ['Connection establishing > fails if the Upgrade header field value is not "websocket"', 'internal', INTERNAL_HANDSHAKE],
  ['Connection establishing > fails if the Sec-WebSocket-Accept header is invalid', 'internal', INTERNAL_HANDSHAKE],
  ['Connection establishing > close event is raised when server closes connection', 'covered',
    'node_ws_close_has_the_server_code_and_a_new_socket_waits_for_open'],
  ['Connection establishing > error is emitted if server aborts connection', 'different',
    'a server that refuses is the daemon\'s to retry (backoff); the face waits for the session to open (handshakeTimeout)'],
  ['Connection establishing > unexpected response can be read when sent by server', 'different', DIFF_NO_HTTP],
  ['Connection establishing > request can be aborted when unexpected response is sent by server', 'different', DIFF_NO_HTTP],
  ['Connection establishing > fails if the opening handshake timeout expires', 'covered', async (c) => {
    const ws = new WebSocket('wsbridge://parked', { ...c.opts, handshakeTimeout: 300 });
    const started = Date.now();
    const [err, code] = await ending(ws);
    assert.equal(err.message, 'Opening handshake has timed out');
    assert.equal(code, 1006);
    assert.ok(Date.now() - started >= 290);
  }],
  ['Connection establishing > fails if an unexpected Sec-WebSocket-Extensions header is received', 'internal', INTERNAL_HANDSHAKE],
  ['Connection establishing > fails if the Sec-WebSocket-Extensions header is invalid (1/2)', 'internal', INTERNAL_HANDSHAKE],
  ['Connection establishing > fails if the Sec-WebSocket-Extensions header is invalid (2/2)', 'internal', INTERNAL_HANDSHAKE],
  ['Connection establishing > fails if an unexpected extension is received (1/2)', 'internal', INTERNAL_HANDSHAKE],
  ['Connection establishing > fails if an unexpected extension is received (2/2)', 'internal', INTERNAL_HANDSHAKE],
  ['Connection establishing > fails if server sends a subprotocol when none was requested', 'internal', INTERNAL_HANDSHAKE],
  ['Connection establishing > fails if server sends an invalid subprotocol (1/2)', 'internal', INTERNAL_HANDSHAKE],
  ['Connection establishing > fails if server sends an invalid subprotocol (2/2)', 'internal', INTERNAL_HANDSHAKE],
  ['Connection establishing > fails if server sends no subprotocol', 'internal', INTERNAL_HANDSHAKE],
  ['Connection establishing > honors the `createConnection` option', 'different', 'the daemon makes the connection; createConnection warns once'],
  ['Connection establishing > does not follow redirects by default', 'different', INTERNAL_REDIRECT],
  ['Connection establishing > honors the `followRedirects` option', 'different', DIFF_OPTION('url')],
  ['Connection establishing > honors the `maxRedirects` option', 'different', DIFF_OPTION('url')],
  ['Connection establishing > emits an error if the redirect URL is invalid (1/2)', 'different', INTERNAL_REDIRECT],
  ['Connection establishing > emits an error if the redirect URL is invalid (2/2)', 'different', INTERNAL_REDIRECT],
  ['Connection establishing > uses the first url userinfo when following redirects', 'different', INTERNAL_REDIRECT],
  ...[
    'When moving away from a secure context > If there is no \'redirect\' event listener > drops the `auth` option',
    'When moving away from a secure context > If there is no \'redirect\' event listener > drops the Authorization and Cookie headers',
    'When moving away from a secure context > If there is at least one \'redirect\' event listener > does not drop any headers by default',
    'When the redirect host is different > If there is no \'redirect\' event listener > drops the `auth` option',
    'When the redirect host is different > If there is no \'redirect\' event listener > drops the Authorization, Cookie and Host headers (1/4)',
    'When the redirect host is different > If there is no \'redirect\' event listener > drops the Authorization, Cookie and Host headers (2/4)',
    'When the redirect host is different > If there is no \'redirect\' event listener > drops the Authorization, Cookie and Host headers (3/4)',
    'When the redirect host is different > If there is no \'redirect\' event listener > drops the Authorization, Cookie and Host headers (4/4)',
    'When the redirect host is different > If there is at least one \'redirect\' event listener > does not drop any headers by default',
    'In a listener of the \'redirect\' event > allows to abort the request without swallowing errors',
    'In a listener of the \'redirect\' event > allows to remove headers',
  ].map((t) => [`Connection establishing > ${t}`, 'internal', INTERNAL_REDIRECT]),
  ['#pause > does nothing if `readyState` is `CONNECTING` or `CLOSED`', 'covered', async (c) => {
    const ws = new WebSocket('wsbridge://feed', c.opts);
    ws.pause();
    assert.equal(ws.isPaused, false);
    await once(ws, 'open');
    await closed(ws);
    ws.pause();
    assert.equal(ws.isPaused, false);
  }],
  ['#pause > pauses the socket', 'covered', async (c) => {
    const ws = await c.open();
    const got = [];
    ws.on('message', (d) => got.push(d.toString()));
    ws.pause();
    await c.server.inject('while paused');
    await sleep(300);
    assert.deepEqual(got, []);
    ws.resume();
    await waitFor(() => got.length === 1, 5000 * c.h.slow, 'the message after resume()');
    assert.deepEqual(got, ['while paused']);
    await closed(ws);
  }],
  ['#ping > throws an error if `readyState` is `CONNECTING`', 'covered', async (c) => {
    const ws = new WebSocket('wsbridge://feed', c.opts);
    assert.throws(() => ws.ping(), { message: 'WebSocket is not open: readyState 0 (CONNECTING)' });
    assert.throws(() => ws.ping(() => {}), /readyState 0/);
    ws.terminate();
    await ending(ws);
  }],
  ['#ping > increases `bufferedAmount` if `readyState` is 2 or 3', 'covered', async (c) => {
    const ws = await c.open();
    ws.close();
    ws.ping('hi');
    assert.equal(ws.bufferedAmount, 2);
    await once(ws, 'close');
    ws.ping('hi');
    assert.equal(ws.bufferedAmount, 4);
  }],
  ['#ping > calls the callback w/ an error if `readyState` is 2 or 3', 'covered', async (c) => {
    const ws = await c.open();
    ws.close();
    const e1 = await new Promise((resolve) => ws.ping(resolve));
    assert.equal(e1.message, 'WebSocket is not open: readyState 2 (CLOSING)');
    await once(ws, 'close');
    const e2 = await new Promise((resolve) => ws.ping('x', true, resolve));
    assert.equal(e2.message, 'WebSocket is not open: readyState 3 (CLOSED)');
  }],
  ['#ping > can send a ping with no data', 'covered', async (c) => {
    const ws = await c.open();
    ws.ping(() => {});
    const [data] = await once(ws, 'pong');
    assert.equal(data.length, 0);
    await closed(ws);
  }],
  ['#ping > can send a ping with data', 'covered', async (c) => {
    const ws = await c.open();
    ws.ping(Buffer.from('hi'));
    assert.equal((await once(ws, 'pong'))[0].toString(), 'hi');
    await closed(ws);
  }],
  ['#ping > can send numbers as ping payload', 'covered', async (c) => {
    const ws = await c.open();
    ws.ping(0);
    assert.equal((await once(ws, 'pong'))[0].toString(), '0');
    await closed(ws);
  }],
  ['#ping > throws an error if the data size is greater than 125 bytes', 'covered', async (c) => {
    const ws = await c.open();
    assert.throws(() => ws.ping(Buffer.alloc(126)), { name: 'RangeError', message: 'The data size must not be greater than 125 bytes' });
    await closed(ws);
  }],
  ['#pong > throws an error if `readyState` is `CONNECTING`', 'covered', async (c) => {
    const ws = new WebSocket('wsbridge://feed', c.opts);
    assert.throws(() => ws.pong(), { message: 'WebSocket is not open: readyState 0 (CONNECTING)' });
    ws.terminate();
    await ending(ws);
  }],
  ['#pong > increases `bufferedAmount` if `readyState` is 2 or 3', 'covered', async (c) => {
    const ws = await c.open();
    ws.close();
    ws.pong('hi');
    assert.equal(ws.bufferedAmount, 2);
    await once(ws, 'close');
    ws.pong('hi');
    assert.equal(ws.bufferedAmount, 4);
  }],
  ['#pong > calls the callback w/ an error if `readyState` is 2 or 3', 'covered', async (c) => {
    const ws = await c.open();
    ws.close();
    const e1 = await new Promise((resolve) => ws.pong(resolve));
    assert.equal(e1.message, 'WebSocket is not open: readyState 2 (CLOSING)');
    await once(ws, 'close');
    const e2 = await new Promise((resolve) => ws.pong('x', true, resolve));
    assert.equal(e2.message, 'WebSocket is not open: readyState 3 (CLOSED)');
  }],
  ['#pong > can send a pong with no data', 'different', 'pong() sends nothing: the daemon answers the server\'s pings (its callback runs)'],
  ['#pong > can send a pong with data', 'different', 'pong() sends nothing: the daemon answers the server\'s pings (its callback runs)'],
  ['#pong > can send numbers as pong payload', 'different', 'pong() sends nothing: the daemon answers the server\'s pings (its callback runs)'],
  ['#pong > throws an error if the data size is greater than 125 bytes', 'covered', async (c) => {
    const ws = await c.open();
    assert.throws(() => ws.pong(Buffer.alloc(126)), RangeError);
    await closed(ws);
  }],
  ['#pong > is called automatically when a ping is received', 'different', 'the daemon answers the server\'s pings itself'],
  ['#resume > does nothing if `readyState` is `CONNECTING` or `CLOSED`', 'covered', async (c) => {
    const ws = new WebSocket('wsbridge://feed', c.opts);
    ws.resume();
    assert.equal(ws.isPaused, false);
    await once(ws, 'open');
    ws.pause();
    await closed(ws);
    ws.resume();
    assert.equal(ws.isPaused, true, 'resume() after CLOSED does nothing');
  }],
  ['#resume > resumes the socket', 'covered', '#pause > pauses the socket'],
  ['#send > throws an error if `readyState` is `CONNECTING`', 'covered', async (c) => {
    const ws = new WebSocket('wsbridge://feed', c.opts);
    assert.throws(() => ws.send('hi'), { message: 'WebSocket is not open: readyState 0 (CONNECTING)' });
    ws.terminate();
    await ending(ws);
  }],
  ['#send > increases `bufferedAmount` if `readyState` is 2 or 3', 'covered', async (c) => {
    const ws = await c.open();
    ws.close();
    ws.send('hi');
    assert.equal(ws.bufferedAmount, 2);
    await once(ws, 'close');
    ws.send(Buffer.alloc(3));
    assert.equal(ws.bufferedAmount, 5);
  }],
  ['#send > calls the callback w/ an error if `readyState` is 2 or 3', 'covered', async (c) => {
    const ws = await c.open();
    ws.close();
    const e1 = await new Promise((resolve) => ws.send('hi', resolve));
    assert.equal(e1.message, 'WebSocket is not open: readyState 2 (CLOSING)');
    await once(ws, 'close');
    const e2 = await new Promise((resolve) => ws.send('hi', {}, resolve));
    assert.equal(e2.message, 'WebSocket is not open: readyState 3 (CLOSED)');
  }],
  ['#send > can send a big binary message', 'covered', async (c) => {
    const ws = await c.open();
    const big = Buffer.alloc(1 << 20, 7);
    big[12345] = 1;
    ws.send(big);
    await arrives(c, big);
    await closed(ws);
  }],
  ['#send > can send text data', 'covered', async (c) => {
    const ws = await c.open();
    ws.send('hi there');
    await arrives(c, 'hi there');
    await closed(ws);
  }],
  ['#send > does not override the `fin` option', 'covered', async (c) => {
    const ws = await c.open();
    ws.send('frag-', { fin: false });
    ws.send('ments', { fin: true });
    await arrives(c, 'frag-ments');
    await closed(ws);
  }],
  ['#send > sends numbers as strings', 'covered', async (c) => {
    const ws = await c.open();
    ws.send(4321);
    await arrives(c, '4321');
    await closed(ws);
  }],
  ['#send > can send a `TypedArray`', 'covered', async (c) => {
    const ws = await c.open();
    const a = new Float32Array([1.5, 2.5, 3.5]);
    ws.send(a.subarray(1));
    await arrives(c, Buffer.from(a.buffer, 4, 8));
    await closed(ws);
  }],
  ['#send > can send an `ArrayBuffer`', 'covered', async (c) => {
    const ws = await c.open();
    ws.send(new Uint8Array([5, 6, 7, 8]).buffer);
    await arrives(c, Buffer.from([5, 6, 7, 8]));
    await closed(ws);
  }],
  ['#send > can send a `Buffer`', 'covered', async (c) => {
    const ws = await c.open();
    ws.send(Buffer.from('a buffer'));
    await arrives(c, Buffer.from('a buffer'));
    await closed(ws);
  }],
  ['#send > can send a `Blob`', 'covered', async (c) => {
    const ws = await c.open();
    ws.send(new Blob(['blob ', 'data']));
    assert.equal(ws.bufferedAmount, 9);
    ws.send('after the blob');
    await arrives(c, 'after the blob');
    const got = await c.server.received();
    const at = got.findIndex((m) => Buffer.isBuffer(m) && m.toString() === 'blob data');
    assert.ok(at >= 0 && at < got.indexOf('after the blob'), 'the Blob (binary) first');
    await closed(ws);
  }],
  ['#send > calls the callback when data is written out', 'covered', async (c) => {
    const ws = await c.open();
    await new Promise((resolve, reject) => ws.send('called back', (err) => (err ? reject(err) : resolve())));
    await arrives(c, 'called back');
    await closed(ws);
  }],
  ['#send > calls the callback if the socket is forcibly closed', 'covered', async (c) => {
    const ws = await c.open();
    const called = new Promise((resolve) => ws.send('then terminated', resolve));
    ws.terminate();
    await called; // accepted or refused: it is called
    await once(ws, 'close');
  }],
  ['#send > works when the `data` argument is falsy', 'covered', async (c) => {
    const ws = await c.open();
    ws.send();
    await arrives(c, Buffer.alloc(0));
    await closed(ws);
  }],
  ['#send > honors the `mask` option', 'internal', INTERNAL_FRAMES],
  ['#close > closes the connection if called while connecting (1/3)', 'covered', async (c) => {
    const ws = new WebSocket('wsbridge://feed', c.opts);
    ws.close(1001);
    const [err, code] = await ending(ws);
    assert.equal(err.message, 'WebSocket was closed before the connection was established');
    assert.equal(code, 1006);
  }],
  ['#close > closes the connection if called while connecting (2/3)', 'internal', 'stages of ws\'s HTTP request (request sent, upgrade received)'],
  ['#close > closes the connection if called while connecting (3/3)', 'internal', 'stages of ws\'s HTTP request (request sent, upgrade received)'],
  ['#close > can be called from an error listener while connecting', 'covered', async (c) => {
    const ws = new WebSocket('wsbridge://nosuchsession', c.opts);
    ws.on('error', () => ws.close());
    const [code] = await closeOf(ws);
    assert.equal(code, 1006);
  }],
  ['#close > can be called from a listener of the \'redirect\' event', 'different', DIFF_NO_HTTP],
  ['#close > can be called from a listener of the \'upgrade\' event', 'different', DIFF_NO_HTTP],
  ['#close > sends the close status code only when necessary', 'internal', INTERNAL_FRAMES],
  ['#close > works when close reason is not specified', 'covered', async (c) => {
    const ws = await c.open();
    ws.close(1000);
    const [code, reason] = await once(ws, 'close');
    assert.deepEqual([code, reason.toString()], [1000, '']);
  }],
  ['#close > works when close reason is specified', 'covered', async (c) => {
    const ws = await c.open();
    ws.close(1000, 'some reason');
    const [code, reason] = await once(ws, 'close');
    assert.deepEqual([code, reason.toString()], [1000, 'some reason']);
  }],
  ['#close > permits all buffered data to be delivered', 'covered', async (c) => {
    const ws = await c.open();
    for (let i = 0; i < 50; i++) ws.send(`buffered ${i}`);
    ws.close();
    await once(ws, 'close');
    const got = await c.server.received();
    for (let i = 0; i < 50; i++) assert.ok(got.includes(`buffered ${i}`), `buffered ${i}`);
  }],
  ['#close > allows close code 1013', 'covered', async (c) => {
    const ws = await c.open();
    ws.close(1013);
    assert.equal((await once(ws, 'close'))[0], 1013);
  }],
  ['#close > allows close code 1014', 'covered', async (c) => {
    const ws = await c.open();
    ws.close(1014);
    assert.equal((await once(ws, 'close'))[0], 1014);
  }],
  ['#close > does nothing if `readyState` is `CLOSED`', 'covered', async (c) => {
    const ws = await c.open();
    let n = 0;
    ws.on('close', () => n++);
    ws.close();
    await once(ws, 'close');
    ws.close();
    await sleep(100);
    assert.equal(n, 1);
  }],
  ['#close > sets a timer for the closing handshake to complete', 'different', 'close() ends the face at once: there is no closing handshake to wait for'],
  ['#terminate > closes the connection if called while connecting (1/2)', 'covered', async (c) => {
    const ws = new WebSocket('wsbridge://feed', c.opts);
    ws.terminate();
    const [err, code] = await ending(ws);
    assert.equal(err.message, 'WebSocket was closed before the connection was established');
    assert.equal(code, 1006);
  }],
  ['#terminate > closes the connection if called while connecting (2/2)', 'internal', 'stages of ws\'s HTTP request (request sent, upgrade received)'],
  ['#terminate > can be called from an error listener while connecting', 'covered', async (c) => {
    const ws = new WebSocket('wsbridge://nosuchsession', c.opts);
    ws.on('error', () => ws.terminate());
    assert.equal((await closeOf(ws))[0], 1006);
  }],
  ['#terminate > can be called from a listener of the \'redirect\' event', 'different', DIFF_NO_HTTP],
  ['#terminate > can be called from a listener of the \'upgrade\' event', 'different', DIFF_NO_HTTP],
  ['#terminate > does nothing if `readyState` is `CLOSED`', 'covered', async (c) => {
    const ws = await c.open();
    let n = 0;
    ws.on('close', () => n++);
    ws.terminate();
    await once(ws, 'close');
    ws.terminate();
    await sleep(100);
    assert.equal(n, 1);
  }],
  ['WHATWG API emulation > supports the `on{close,error,message,open}` attributes', 'covered', async (c) => {
    const ws = new WebSocket('wsbridge://feed', c.opts);
    const noop = () => {};
    for (const a of ['onopen', 'onerror', 'onclose', 'onmessage']) {
      assert.equal(ws[a], null);
      ws[a] = noop;
      assert.equal(ws[a], noop);
      assert.equal(ws.listenerCount(a.slice(2)), 1);
      ws[a] = 'not a function';
      assert.equal(ws[a], null);
      assert.equal(ws.listenerCount(a.slice(2)), 0);
    }
    ws.terminate();
    await ending(ws);
  }],
  ['WHATWG API emulation > works like the `EventEmitter` interface', 'covered', async (c) => {
    const ws = new WebSocket('wsbridge://feed', c.opts);
    const ended = new Promise((resolve) => {
      ws.onmessage = (m) => {
        assert.equal(m.data, 'foo');
        ws.onclose = resolve;
        ws.close();
      };
    });
    ws.onopen = () => c.server.inject('foo');
    const e = await ended;
    assert.deepEqual([e.wasClean, e.code, e.reason], [true, 1005, '']);
  }],
  ['WHATWG API emulation > doesn\'t return listeners added with `on`', 'covered', async (c) => {
    const ws = new WebSocket('wsbridge://feed', c.opts);
    const noop = () => {};
    ws.on('open', noop);
    assert.deepEqual(ws.listeners('open'), [noop]);
    assert.equal(ws.onopen, null);
    ws.terminate();
    await ending(ws);
  }],
  ['WHATWG API emulation > doesn\'t remove listeners added with `on`', 'covered', async (c) => {
    const ws = new WebSocket('wsbridge://feed', c.opts);
    const noop = () => {};
    ws.on('close', noop);
    ws.onclose = noop;
    ws.onclose = noop;
    const l = ws.listeners('close');
    assert.equal(l.length, 2);
    assert.equal(l[0], noop);
    ws.terminate();
    await ending(ws);
  }],
  ['WHATWG API emulation > supports the `addEventListener` method', 'covered', async (c) => {
    const ws = new WebSocket('wsbridge://feed', c.opts);
    ws.addEventListener('foo', () => {});
    assert.equal(ws.listenerCount('foo'), 0);
    const events = [];
    const onOpen = () => events.push('open');
    ws.addEventListener('open', onOpen);
    ws.addEventListener('open', onOpen); // once only
    ws.addEventListener('open', { handleEvent: (e) => events.push(`handled ${e.type}`) }, { once: true });
    assert.equal(ws.listenerCount('open'), 2);
    await once(ws, 'open');
    assert.deepEqual(events, ['open', 'handled open']);
    assert.equal(ws.listenerCount('open'), 1);
    await closed(ws);
  }],
  ['WHATWG API emulation > doesn\'t return listeners added with `addEventListener`', 'covered', async (c) => {
    const ws = new WebSocket('wsbridge://feed', c.opts);
    const noop = () => {};
    ws.addEventListener('open', noop);
    assert.equal(ws.listeners('open').length, 1);
    assert.equal(ws.onopen, null);
    ws.terminate();
    await ending(ws);
  }],
  ['WHATWG API emulation > doesn\'t remove listeners added with `addEventListener`', 'covered', async (c) => {
    const ws = new WebSocket('wsbridge://feed', c.opts);
    const noop = () => {};
    ws.addEventListener('close', noop);
    ws.onclose = noop;
    ws.onclose = noop;
    assert.equal(ws.listeners('close').length, 2);
    ws.removeEventListener('close', noop); // the one of addEventListener, not the attribute
    assert.equal(ws.listeners('close').length, 1);
    assert.equal(ws.onclose, noop);
    ws.terminate();
    await ending(ws);
  }],
  ['WHATWG API emulation > supports the `removeEventListener` method', 'covered', async (c) => {
    const ws = new WebSocket('wsbridge://feed', c.opts);
    const f = () => {};
    const h = { handleEvent() {} };
    ws.addEventListener('message', f);
    ws.addEventListener('message', h, { once: true });
    assert.equal(ws.listenerCount('message'), 2);
    ws.removeEventListener('message', f);
    ws.removeEventListener('message', h);
    assert.equal(ws.listenerCount('message'), 0);
    ws.terminate();
    await ending(ws);
  }],
  ['WHATWG API emulation > wraps text data in a `MessageEvent`', 'covered', async (c) => {
    const ws = await c.open();
    const got = new Promise((resolve) => ws.addEventListener('message', resolve));
    await c.server.inject('wrapped');
    const e = await got;
    assert.deepEqual([e.type, e.data, e.target === ws], ['message', 'wrapped', true]);
    await closed(ws);
  }],
  ['WHATWG API emulation > receives a `CloseEvent` when server closes (1000)', 'covered',
    'node_ws_heartbeat_ping_pong_and_close_codes'],
  ['WHATWG API emulation > receives a `CloseEvent` when server closes (4000)', 'covered',
    'node_ws_close_has_the_server_code_and_a_new_socket_waits_for_open'],
  ['WHATWG API emulation > sets `target` and `type` on events', 'covered', async (c) => {
    const ws = new WebSocket('wsbridge://feed', c.opts);
    const seen = [];
    const err = new Error('forced');
    for (const type of ['open', 'message', 'close', 'error'])
      ws.addEventListener(type, (e) => seen.push([e.type, e.target === ws, e.error === err ? e.message : undefined]));
    ws.addEventListener('open', () => c.server.inject('hi'));
    ws.addEventListener('message', () => ws.close());
    ws.addEventListener('close', () => ws.emit('error', err));
    await waitFor(() => seen.length === 4, 5000 * c.h.slow, 'four events');
    assert.deepEqual(seen, [['open', true, undefined], ['message', true, undefined], ['close', true, undefined],
      ['error', true, 'forced']]);
  }],
  ['WHATWG API emulation > passes binary data as a Node.js `Buffer` by default', 'covered', async (c) => {
    const ws = await c.open();
    const got = once(ws, 'message');
    await c.server.inject(Buffer.from([1, 2, 3]));
    const [data, isBinary] = await got;
    assert.ok(Buffer.isBuffer(data) && isBinary);
    assert.deepEqual([...data], [1, 2, 3]);
    await closed(ws);
  }],
  ['WHATWG API emulation > ignores `binaryType` for text messages', 'covered', async (c) => {
    const ws = await c.open();
    ws.binaryType = 'arraybuffer';
    const got = new Promise((resolve) => ws.addEventListener('message', resolve));
    await c.server.inject('text stays text');
    assert.equal((await got).data, 'text stays text');
    await closed(ws);
  }],
  ['WHATWG API emulation > allows to update `binaryType` on the fly', 'covered', async (c) => {
    const ws = await c.open();
    const got = [];
    ws.on('message', (data) => got.push(data));
    for (const t of ['nodebuffer', 'arraybuffer', 'fragments', 'blob']) {
      ws.binaryType = t;
      const n = got.length;
      await c.server.inject(Buffer.from(t));
      await waitFor(() => got.length === n + 1, 5000 * c.h.slow, t);
    }
    assert.ok(Buffer.isBuffer(got[0]));
    assert.ok(got[1] instanceof ArrayBuffer);
    assert.ok(Array.isArray(got[2]) && Buffer.isBuffer(got[2][0]));
    assert.ok(got[3] instanceof Blob);
    assert.equal(await got[3].text(), 'blob');
    await closed(ws);
  }],
  ...[
    'connects to secure websocket server', 'connects to secure websocket server with client side certificate',
    'cannot connect to secure websocket server via ws://', 'can send and receive text data', 'can send a big binary message',
    'allows to disable sending the SNI extension', 'works around a double \'error\' event bug in Node.js',
  ].map((t) => [`SSL > ${t}`, 'different', DIFF_TLS]),
  ['Request headers > adds the authorization header if the url has userinfo', 'different', DIFF_OPTION('headers or token_file')],
  ['Request headers > honors the `auth` option', 'different', DIFF_OPTION('headers or token_file')],
  ['Request headers > favors the url userinfo over the `auth` option', 'different', DIFF_OPTION('headers or token_file')],
  ['Request headers > adds custom headers', 'different', DIFF_OPTION('headers')],
  ['Request headers > excludes default ports from host header', 'internal', INTERNAL_HANDSHAKE],
  ['Request headers > doesn\'t add the origin header by default', 'internal', INTERNAL_HANDSHAKE],
  ['Request headers > honors the `origin` option (1/2)', 'different', DIFF_OPTION('origin')],
  ['Request headers > honors the `origin` option (2/2)', 'different', DIFF_OPTION('origin')],
  ['Request headers > honors the `finishRequest` option', 'different', DIFF_OPTION('headers or auth_command')],
  ['permessage-deflate > is enabled by default', 'different', DIFF_OPTION('compression')],
  ['permessage-deflate > can be disabled', 'different', DIFF_OPTION('compression')],
  ['permessage-deflate > can send extension parameters', 'different', DIFF_OPTION('compression')],
  ['permessage-deflate > consumes all received data when connection is closed (1/2)', 'internal', INTERNAL_DEFLATE],
  ['permessage-deflate > consumes all received data when connection is closed (2/2)', 'internal', INTERNAL_DEFLATE],
  ['permessage-deflate > handles a close frame received while compressing data', 'internal', INTERNAL_DEFLATE],
  ['permessage-deflate > #close > can be used while data is being decompressed', 'internal', INTERNAL_DEFLATE],
  ['permessage-deflate > #send > can send text data', 'internal', INTERNAL_DEFLATE],
  ['permessage-deflate > #send > can send a `TypedArray`', 'internal', INTERNAL_DEFLATE],
  ['permessage-deflate > #send > can send an `ArrayBuffer`', 'internal', INTERNAL_DEFLATE],
  ['permessage-deflate > #send > can send a `Blob`', 'internal', INTERNAL_DEFLATE],
  ['permessage-deflate > #send > ignores the `compress` option if the extension is disabled', 'covered', async (c) => {
    const ws = await c.open();
    await new Promise((resolve, reject) => ws.send('compress me', { compress: true }, (e) => (e ? reject(e) : resolve())));
    await arrives(c, 'compress me');
    await closed(ws);
  }],
  ['permessage-deflate > #send > calls the callback if the socket is closed prematurely', 'internal', INTERNAL_DEFLATE],
  ['permessage-deflate > #terminate > can be used while data is being compressed', 'internal', INTERNAL_DEFLATE],
  ['permessage-deflate > #terminate > can be used while data is being decompressed', 'internal', INTERNAL_DEFLATE],
  ['Connection close > closes cleanly after simultaneous errors (1/2)', 'internal', INTERNAL_FRAMES],
  ['Connection close > closes cleanly after simultaneous errors (2/2)', 'internal', INTERNAL_FRAMES],
  ['Connection close > resumes the socket when an error occurs', 'internal', INTERNAL_FRAMES],
  ['Connection close > resumes the socket when the close frame is received', 'internal', INTERNAL_FRAMES],
];

export function counts() {
  const n = (s) => TABLE.filter((e) => e[1] === s).length;
  return { total: TABLE.length, covered: n('covered'), different: n('different'), internal: n('internal') };
}

wsbTest('node_ws_peer_client_behaviours', async (h) => {
  const server = await h.server();
  const daemon = await h.daemon({
    // Without opening messages: each face here sees only what is injected while it is open.
    sessions: [{ name: 'feed', url: server.url, opening_messages: 0 },
      { name: 'parked', url: server.url, autoconnect: false }],
  });
  await daemon.waitState('feed', 'open');
  const opts = { socket: daemon.socket };
  const c = {
    h, server, daemon, opts,
    async open() {
      const ws = new WebSocket('wsbridge://feed', opts);
      await once(ws, 'open');
      return ws;
    },
  };
  const failed = [];
  for (const [title, status, check] of TABLE) {
    if (status !== 'covered' || typeof check !== 'function') continue;
    try {
      await check(c);
    } catch (err) {
      failed.push(`${title}: ${err.stack}`);
    }
  }
  assert.deepEqual(failed, []);
}, { timeout: 120000 });

wsbTest('node_ws_peer_counts_in_the_readme', async () => {
  const titles = TABLE.map((e) => e[0]);
  assert.equal(new Set(titles).size, titles.length, 'one entry per ws test');
  // Entries covered elsewhere name a test of this suite, or another entry.
  const { execFileSync } = await import('node:child_process');
  const ids = execFileSync(process.execPath, [new URL('list-tests.mjs', import.meta.url).pathname,
    new URL('.', import.meta.url).pathname], { encoding: 'utf8' }).split('\n').map((l) => l.split('::')[1]);
  for (const [title, status, check] of TABLE) {
    if (status === 'covered' && typeof check === 'string')
      assert.ok(ids.includes(check) || titles.includes(check), `${title}: ${check} is a test`);
    if (status !== 'covered') assert.equal(typeof check, 'string', title);
  }
  const { total, covered, different, internal } = counts();
  assert.equal(total, 184, 'the `it`s of ws 8\'s test/websocket.test.js');
  const readme = readFileSync(`${SOURCE_ROOT}clients/node/README.md`, 'utf8');
  const line = `ws's test/websocket.test.js: ${total} client tests; ${internal} test ws's internals; `
    + `of the other ${total - internal}, ${covered} are covered and pass, ${different} are documented as different`;
  assert.ok(readme.includes(line), `the README says: ${line}`);
  for (const [title, status] of TABLE)
    if (status === 'different') assert.ok(readme.includes(title.replaceAll('|', '\\|')), `the README lists ${title}`);
});
