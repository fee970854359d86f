// Benchmark helper: a stand-in for wsbridged that serves one session to
// node-subscriber.mjs and writes it message events as fast as the client
// reads them (the socket's own backpressure, so nothing is lost), so that
// CPU_NS_PER_MSG measures the Node client alone. It answers hello,
// subscribe, get_session and unsubscribe; the events are encoded once,
// as the daemon does, and only their seq is rewritten.
//   node node-fake-daemon.mjs --socket PATH [--session NAME] [--size BYTES] [--binary]
// Prints "READY" once listening; serves until killed.
import { createRequire } from 'node:module';
import net from 'node:net';
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';

const require = createRequire(new URL('../../clients/node/package.json', import.meta.url));
const protobuf = require('protobufjs');

const { values } = parseArgs({
  options: {
    socket: { type: 'string' },
    session: { type: 'string', default: 'bench' },
    size: { type: 'string', default: '100' },
    binary: { type: 'boolean', default: false },
  },
});
if (!values.socket) throw new TypeError('--socket PATH is needed');

const root = protobuf.loadSync(new URL('../../proto/wsbridge.proto', import.meta.url).pathname);
const ClientFrame = root.lookupType('wsbridge.v1.ClientFrame');
const ServerFrame = root.lookupType('wsbridge.v1.ServerFrame');
const EPOCH = 0x12345678;
const BATCH = 512; // events per write
const SEQ_BYTES = 5; // seq as a padded varint (up to 2^35), rewritten in place

const varint = (n) => {
  const out = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return Buffer.from(out);
};
const field = (tag, bytes) => Buffer.concat([varint(tag), varint(bytes.length), bytes]);

/** One message event, length-delimited, and where its seq's bytes are. */
function eventTemplate(subscriptionId) {
  const epoch = Buffer.alloc(8);
  epoch.writeUInt32LE(EPOCH, 0);
  const payload = Buffer.alloc(Number(values.size), 'x');
  const head = Buffer.concat([field(0x0a, Buffer.from(values.session)), field(0x12, Buffer.from('*')),
    Buffer.from([0x18])]);
  const tail = Buffer.concat([Buffer.from([0x21]), epoch, Buffer.from([0x28]), varint(Date.now() * 1000),
    ...(values.binary ? [Buffer.from([0x30, 1])] : []), field(0x3a, payload)]);
  const message = Buffer.concat([head, Buffer.alloc(SEQ_BYTES), tail]);
  const event = Buffer.concat([Buffer.from([0x08]), varint(subscriptionId), field(0x12, message)]);
  const body = field(0x1a, event);
  const frame = Buffer.concat([varint(body.length), body]);
  // The message ends the event, which ends the frame.
  return { frame, seqAt: frame.length - tail.length - SEQ_BYTES };
}

function status(lastSeq) {
  return { name: values.session, url: 'ws://fake/', state: 3, reason: 'fake', epoch: { low: EPOCH, high: 0, unsigned: true }, lastSeq };
}

function serve(sock) {
  let buf = Buffer.alloc(0);
  let seq = 0;
  let streaming = false;
  const send = (frame) => sock.write(ServerFrame.encodeDelimited(frame).finish());

  const stream = (template) => {
    const { frame, seqAt } = template;
    const write = () => {
      while (!sock.destroyed) {
        const batch = Buffer.allocUnsafe(frame.length * BATCH);
        for (let i = 0; i < BATCH; i++) {
          const at = i * frame.length;
          frame.copy(batch, at);
          let s = ++seq;
          for (let b = 0; b < SEQ_BYTES; b++) {
            batch[at + seqAt + b] = (s & 0x7f) | (b < SEQ_BYTES - 1 ? 0x80 : 0);
            s = Math.floor(s / 0x80);
          }
        }
        if (!sock.write(batch)) {
          sock.once('drain', write);
          return;
        }
      }
    };
    write();
  };

  sock.on('error', () => {});
  sock.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      let frame;
      try {
        const reader = protobuf.Reader.create(buf);
        frame = ClientFrame.decodeDelimited(reader);
        buf = buf.subarray(reader.pos);
      } catch {
        return; // incomplete
      }
      if (frame.frame === 'hello') {
        send({ hello: { apiMajor: 1, apiMinor: 2, daemonVersion: 'fake', uid: 0, gid: 0, pid: process.pid } });
        continue;
      }
      const r = frame.request;
      if (r.op === 'subscribe') {
        send({ reply: { id: r.id, subscribe: { subscriptionId: 1, status: status(seq) } } });
        if (!streaming) {
          streaming = true;
          setImmediate(() => stream(eventTemplate(1)));
        }
      } else if (r.op === 'getSession') {
        send({ reply: { id: r.id, session: status(seq) } });
      } else if (r.op === 'unsubscribe') {
        send({ reply: { id: r.id, ok: {} } });
      }
    }
  });
}

rmSync(values.socket, { force: true });
net.createServer(serve).listen(values.socket, () => console.log('READY'));
