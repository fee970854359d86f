// The ws face as apps load and use it: CommonJS require() and ES imports
// (one class), createWebSocketStream, the heartbeat ('ping' while the
// session is open, ping()/'pong', pong()), the close codes ws accepts, and
// the options the shared session has instead (one warning each, naming
// the session key).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { WebSocket, createWebSocketStream } from '../../clients/node/src/index.js';
import { CLIENT_DIR, feed, waitFor, wsbTest } from './harness.mjs';

const run = promisify(execFile);

/** A project with wsbridge installed (a link to the client), and FILES in it. */
function project(h, files) {
  const dir = `${h.info.tmp}/project`;
  mkdirSync(`${dir}/node_modules`, { recursive: true });
  symlinkSync(CLIENT_DIR, `${dir}/node_modules/wsbridge`);
  writeFileSync(`${dir}/package.json`, JSON.stringify({ private: true }));
  for (const [name, text] of Object.entries(files)) writeFileSync(`${dir}/${name}`, text);
  return dir;
}

wsbTest('node_ws_commonjs_require_and_esm_import', async (h) => {
  const { server, daemon } = await feed(h);
  const dir = project(h, {
    'app.cjs': `
      const WebSocket = require('wsbridge/ws');
      const bridge = require('wsbridge');
      console.log(JSON.stringify({
        ctor: typeof WebSocket, named: WebSocket.WebSocket === WebSocket, same: bridge.WebSocket === WebSocket,
        stream: typeof WebSocket.createWebSocketStream === 'function' && bridge.createWebSocketStream === WebSocket.createWebSocketStream,
        open: WebSocket.OPEN,
      }));
      const ws = new WebSocket('wsbridge://feed');
      ws.on('error', console.error);
      ws.on('open', () => ws.send('from require'));
      ws.on('message', (data) => { console.log('received: %s', data); ws.close(); });
      ws.on('close', (code) => {
        console.log('close', code);
        bridge.connect().then(async (c) => { console.log('connect', (await c.status('feed')).state); await c.close(); });
      });
    `,
    'app.mjs': `
      import { createRequire } from 'node:module';
      import WebSocket, { WebSocket as Named, createWebSocketStream } from 'wsbridge/ws';
      import { WebSocket as FromIndex } from 'wsbridge';
      const required = createRequire(import.meta.url)('wsbridge/ws');
      console.log(JSON.stringify([WebSocket === Named, WebSocket === FromIndex, WebSocket === required,
        createWebSocketStream === required.createWebSocketStream]));
    `,
  });
  const env = { ...process.env, WSBRIDGE_SOCKET: daemon.socket };
  const got = run(process.execPath, ['app.cjs'], { cwd: dir, env, timeout: 20000 * h.slow });
  await waitFor(async () => (await server.received()).includes('from require'), 10000 * h.slow, 'the send');
  await server.inject('hello');
  const out = await got;
  assert.equal(out.stderr, '');
  const [head, ...rest] = out.stdout.trim().split('\n');
  assert.deepEqual(JSON.parse(head), { ctor: 'function', named: true, same: true, stream: true, open: 1 });
  assert.deepEqual(rest, ['received: hello', 'close 1005', 'connect open']);
  const esm = await run(process.execPath, ['app.mjs'], { cwd: dir, env, timeout: 20000 * h.slow });
  assert.deepEqual(JSON.parse(esm.stdout), [true, true, true, true]);
});

wsbTest('node_ws_options_the_session_has_warn_once_naming_the_key', async (h) => {
  const { daemon } = await feed(h);
  const dir = project(h, {
    'app.mjs': `
      import WebSocket from 'wsbridge/ws';
      const options = { headers: { Authorization: 'Bearer x' }, origin: 'https://example.com',
        perMessageDeflate: false, handshakeTimeout: 5000, closeTimeout: 100, autoPong: true };
      const a = new WebSocket('wsbridge://feed', ['chat'], options);
      const b = new WebSocket('wsbridge://feed', 'chat', options);
      let open = 0;
      for (const ws of [a, b]) ws.on('open', () => { if (++open === 2) { a.close(); b.close(); console.log('both open'); } });
    `,
  });
  const out = await run(process.execPath, ['app.mjs'], {
    cwd: dir, env: { ...process.env, WSBRIDGE_SOCKET: daemon.socket }, timeout: 20000 * h.slow,
  });
  assert.equal(out.stdout, 'both open\n');
  const warnings = out.stderr.split('\n').filter((l) => /WsbridgeWarning/.test(l));
  const keys = warnings.map((l) => [l.match(/the (\w+) option/)?.[1], l.match(/session key: (\w+)/)?.[1]]);
  assert.deepEqual(keys.sort(), [['headers', 'headers'], ['origin', 'origin'], ['perMessageDeflate', 'compression'],
    ['protocols', 'subprotocols']], out.stderr);
  for (const l of warnings) assert.match(l, /wsbridge:\/\/feed/);
});

wsbTest('node_ws_create_websocket_stream', async (h) => {
  const { server, daemon } = await feed(h);
  const ws = new WebSocket('wsbridge://feed', { socket: daemon.socket });
  const duplex = createWebSocketStream(ws, { encoding: 'utf8' });
  const chunks = [];
  duplex.on('data', (chunk) => chunks.push(chunk));
  duplex.write('written while connecting'); // waits for 'open', as with ws
  await once(ws, 'open');
  await server.inject('one', 'two');
  await waitFor(() => chunks.join('') === 'onetwo', 5000 * h.slow, () => `one and two, got ${chunks}`);
  await waitFor(async () => (await server.received()).length === 1, 5000 * h.slow, 'the write');
  assert.deepEqual(await server.received(), [Buffer.from('written while connecting')]); // binary, as with ws
  const closed = once(ws, 'close');
  const streamClosed = once(duplex, 'close');
  duplex.end();
  const [code] = await closed;
  assert.equal(code, 1005);
  await streamClosed;
  assert.ok(duplex.destroyed);

  // Destroying the stream terminates the WebSocket.
  const ws2 = new WebSocket('wsbridge://feed', { socket: daemon.socket });
  const d2 = createWebSocketStream(ws2);
  await once(ws2, 'open');
  const closed2 = once(ws2, 'close');
  d2.destroy();
  assert.equal((await closed2)[0], 1006);
});

wsbTest('node_ws_heartbeat_ping_pong_and_close_codes', async (h) => {
  const { daemon } = await feed(h);
  const options = { socket: daemon.socket, pingInterval: 100 };
  const ws = new WebSocket('wsbridge://feed', options);
  assert.throws(() => ws.ping(), /readyState 0 \(CONNECTING\)/);
  assert.throws(() => ws.pong(), /readyState 0 \(CONNECTING\)/);
  await once(ws, 'open');
  // 'ping' while the daemon says the session is open.
  const pings = [];
  ws.on('ping', (data) => pings.push(data));
  await waitFor(() => pings.length >= 3, 5000 * h.slow, 'three pings');
  assert.ok(pings.every((p) => Buffer.isBuffer(p) && p.length === 0));
  // ping(): 'pong' with the data; pong(): nothing to send, the callback runs.
  const pong = once(ws, 'pong');
  ws.ping(42, true, (err) => assert.equal(err, undefined));
  assert.equal((await pong)[0].toString(), '42');
  await new Promise((resolve, reject) => ws.pong('x', (err) => (err ? reject(err) : resolve())));
  assert.throws(() => ws.ping(Buffer.alloc(126)), RangeError);
  // When the session's connection ends, the pings stop and 'close' comes.
  const closed = once(ws, 'close');
  await daemon.ctlOk('disconnect', 'feed');
  const [code, reason] = await closed;
  assert.deepEqual([code, reason.toString()], [1000, 'disconnected by request']);
  const n = pings.length;
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(pings.length, n);
  const err = await new Promise((resolve) => ws.ping('p', resolve));
  assert.match(err.message, /readyState 3 \(CLOSED\)/);
  assert.equal(ws.bufferedAmount, 1, 'ping data after close is counted, as ws does');

  // Every code ws lets a client close with.
  await daemon.ctlOk('connect', 'feed');
  await daemon.waitState('feed', 'open');
  const codes = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999];
  for (const c of codes) {
    const s = new WebSocket('wsbridge://feed', options);
    await once(s, 'open');
    const done = once(s, 'close');
    s.close(c, Buffer.from(`code ${c}`));
    const [got, why] = await done;
    assert.deepEqual([got, why.toString()], [c, `code ${c}`]);
  }
});
