// The fast path that reads message events in place (FrameDecoder.read())
// against protobufjs: every field, the longest varints, fields in any
// order, fields it does not know, and frames it must leave to protobufjs.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { FrameDecoder, FrameReader, PROTO_PATH, ProtocolError, messageFromPb } from '../../clients/node/src/protocol.js';
import { CLIENT_DIR, wsbTest } from './harness.mjs';

const protobuf = createRequire(`${CLIENT_DIR}/package.json`)('protobufjs');
const Long = createRequire(`${CLIENT_DIR}/package.json`)('long');

const varint = (n) => {
  const out = [];
  let v = BigInt(n);
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
};
const tag = (field, wire) => varint(field * 8 + wire);
const lenField = (field, bytes) => Buffer.concat([tag(field, 2), varint(bytes.length), bytes]);
const u64 = (n) => Long.fromString(String(n), true);

/** A ServerFrame body holding an Event of subscription SUB with MESSAGE's bytes. */
const eventBody = (sub, message) => lenField(3, Buffer.concat([tag(1, 0), varint(sub), lenField(2, message)]));

/** What the fast path reads of BODY, as the app sees it (null: not a message event). */
function fast(body, decoder = new FrameDecoder()) {
  // In the middle of a larger buffer, as in a socket's chunk.
  const chunk = Buffer.concat([Buffer.from([0xff, 0xff]), body, Buffer.from([0x0a, 0xff])]);
  if (!decoder.read(chunk, 2, 2 + body.length)) return null;
  const m = decoder.message(chunk);
  const view = decoder.view(chunk);
  assert.ok(Buffer.isBuffer(m.raw) && m.raw instanceof Buffer && Buffer.isBuffer(view));
  assert.equal(m.raw.buffer, chunk.buffer, 'the payload is a view of the chunk');
  assert.deepEqual(view, m.raw);
  return { sub: decoder.subscriptionId, ...plain(m) };
}

const plain = (m) => ({
  session: m.session, channel: m.channel, seq: m.seq, epoch: m.epoch, timeUs: m.timeUs, binary: m.binary,
  size: m.size, raw: Buffer.from(m.raw), data: m.data,
});

wsbTest('node_fast_decoder_agrees_with_protobufjs', async () => {
  const root = protobuf.loadSync(PROTO_PATH);
  const ServerFrame = root.lookupType('wsbridge.v1.ServerFrame');
  const slow = (body) => {
    const f = ServerFrame.decode(body);
    return { sub: Number(f.event.subscriptionId), ...plain(messageFromPb(f.event.message)) };
  };
  const decoder = new FrameDecoder(); // one for all: its cache of names must not leak between messages
  const cases = [
    { session: 'feed', channel: '*', seq: 1, epoch: 1, timeUs: 1, binary: false, data: Buffer.from('hello') },
    { session: 'feed', channel: 'eu', seq: 2 ** 28 - 1, epoch: 2 ** 32 + 5, timeUs: 1.7e15, binary: true, data: Buffer.from([0, 1, 2, 255]) },
    { session: 'other', channel: '*', seq: 2 ** 35 + 3, epoch: 2 ** 53 - 1, timeUs: -1, binary: false, data: Buffer.alloc(0) },
    { session: 'other', channel: 'ü', seq: 2 ** 53 - 1, epoch: '18446744073709551615', timeUs: -(2 ** 40), binary: false, data: Buffer.from('ünï') },
    { session: '', channel: '', seq: 0, epoch: '9223372036854775808', timeUs: 0, binary: true, data: Buffer.alloc(300, 7) },
    { session: 'feed', channel: '*', seq: 127, epoch: 0, timeUs: 2 ** 52, binary: false, data: Buffer.alloc(200, 0x61) },
  ];
  for (const [i, c] of cases.entries()) {
    const sub = [1, 127, 128, 2 ** 40, 5, 1][i];
    const body = ServerFrame.encode({
      event: { subscriptionId: u64(sub), message: { ...c, seq: u64(c.seq), epoch: u64(c.epoch), timeUs: Long.fromString(String(c.timeUs)) } },
    }).finish();
    assert.deepEqual(fast(body, decoder), slow(body), `case ${i}`);
  }

  // Fields in another order, names repeated (the last one holds), fields
  // of every wire type it does not know, varints in a longer form than needed.
  const epoch = Buffer.alloc(8);
  epoch.writeUInt32LE(0xdeadbeef, 0);
  epoch.writeUInt32LE(0x00c0ffee, 4);
  const message = Buffer.concat([
    lenField(7, Buffer.from('payload')), tag(6, 0), Buffer.from([0x81, 0x00]),
    tag(20, 0), varint(2n ** 63n), tag(21, 1), Buffer.alloc(8, 9), lenField(22, Buffer.from('unknown')),
    tag(23, 5), Buffer.alloc(4, 3), lenField(1, Buffer.from('first')), lenField(1, Buffer.from('feed')),
    tag(4, 1), epoch, tag(3, 0), Buffer.from([0xaa, 0x80, 0x80, 0x00]), tag(5, 0), varint(2n ** 64n - 5n),
    lenField(2, Buffer.from('eu')),
  ]);
  const odd = eventBody(9, message);
  assert.deepEqual(fast(odd, decoder), slow(odd));
  assert.deepEqual([fast(odd, decoder).seq, fast(odd, decoder).timeUs, fast(odd, decoder).session], [42, -5, 'feed']);

  // Not message events, or more than one: protobufjs decides.
  const gap = ServerFrame.encode({ event: { subscriptionId: 3, gap: { session: 'feed', fromSeq: 1, toSeq: 2 } } }).finish();
  const reply = ServerFrame.encode({ reply: { id: 1, ok: {} } }).finish();
  const twice = Buffer.concat([odd, odd]);
  const noMessage = lenField(3, Buffer.concat([tag(1, 0), varint(4)]));
  for (const body of [gap, reply, twice, noMessage, Buffer.alloc(0), Buffer.from([0x1a])])
    assert.equal(fast(body, decoder), null);

  // Broken message events.
  const truncated = [
    eventBody(1, Buffer.concat([tag(3, 0), Buffer.from([0x80, 0x80])])), // a varint cut short
    eventBody(1, Buffer.concat([tag(4, 1), Buffer.alloc(5)])), // a fixed64 cut short
    eventBody(1, Buffer.concat([tag(7, 2), varint(10), Buffer.alloc(3)])), // bytes past the end
    eventBody(1, Buffer.concat([tag(8, 3)])), // a group
    eventBody(1, Buffer.concat([tag(3, 0), Buffer.alloc(10, 0xff), Buffer.from([1])])), // an 11-byte varint
  ];
  for (const body of truncated) assert.throws(() => fast(body, decoder), ProtocolError);

  // A message as the daemon lays it out, cut anywhere: the same as
  // protobufjs, or a ProtocolError where protobufjs fails too.
  const Message = root.lookupType('wsbridge.v1.Message');
  for (const binary of [false, true]) {
    const whole = Message.encode({
      session: 'feed', channel: 'eu', seq: u64(300), epoch: u64(2 ** 40), timeUs: Long.fromNumber(1.7e15), binary,
      data: Buffer.from('x'.repeat(130)),
    }).finish();
    for (let cut = 0; cut <= whole.length; cut++) {
      const body = eventBody(2, whole.subarray(0, cut));
      let want;
      try {
        want = slow(body);
      } catch {
        assert.throws(() => fast(body, decoder), ProtocolError, `cut at ${cut}`);
        continue;
      }
      assert.deepEqual(fast(body, decoder), want, `cut at ${cut}`);
    }
  }

  // decode() (read() and message() at once), through a FrameReader.
  const reader = new FrameReader(1 << 20);
  reader.push(Buffer.concat([varint(odd.length), odd]));
  assert.ok(reader.next());
  const m = new FrameDecoder().decode(reader.frame, reader.start, reader.end);
  assert.deepEqual({ sub: 9, ...plain(m) }, slow(odd));
});
