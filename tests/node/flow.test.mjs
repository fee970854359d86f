// Framing and flow control: frames split at any byte and large messages
// arrive intact; a subscriber that does not consume holds at most its
// highWaterMark of items while the daemon's slow-client policy drops (with
// gaps) or disconnects (and the client resumes).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { FrameDecoder, FrameReader, PROTO_PATH, ProtocolError } from '../../clients/node/src/protocol.js';
import { CLIENT_DIR, feed, messages, take, waitFor, wsbTest } from './harness.mjs';

const protobuf = createRequire(`${CLIENT_DIR}/package.json`)('protobufjs');

/** The daemon's last seq of session feed, from wsbridgectl (the client may be held). */
async function lastSeq(daemon) {
  const r = await daemon.ctlOk('status', '--json');
  return JSON.parse(r.stdout).find((s) => s.name === 'feed').last_seq;
}

const sha = (b) => createHash('sha256').update(b).digest('hex');

/** Seqs 1..n accounted for exactly once by the messages and gaps of ITEMS. */
function accounted(items, n) {
  let next = 1;
  for (const i of items) {
    if (i.type === 'message') {
      assert.equal(i.seq, next, `message ${i.seq} where ${next} was due`);
      next = i.seq + 1;
    } else if (i.type === 'gap') {
      assert.equal(i.fromSeq, next, `gap ${i.fromSeq}..${i.toSeq} where ${next} was due`);
      next = i.toSeq + 1;
    }
  }
  assert.equal(next, n + 1);
}

wsbTest('node_frames_split_anywhere', async () => {
  const root = protobuf.loadSync(PROTO_PATH);
  const ServerFrame = root.lookupType('wsbridge.v1.ServerFrame');
  const bodies = [];
  for (let i = 1; i <= 40; i++) {
    const data = i % 7 === 0 ? randomBytes(300 + i * 50) : Buffer.from(`text ${i} ${'x'.repeat(i * 3)}`);
    bodies.push({ event: { subscriptionId: 3, message: { session: i % 5 ? 'feed' : 'other', channel: i % 3 ? '*' : 'eu', seq: i, epoch: 123456789 + (i > 20 ? 1 : 0), timeUs: 1.7e15 + i, binary: i % 7 === 0, data } } });
  }
  bodies.push({ event: { subscriptionId: 3, gap: { session: 'feed', channel: '*', fromSeq: 41, toSeq: 50, epoch: 1 } } });
  const stream = Buffer.concat(bodies.map((b) => ServerFrame.encodeDelimited(b).finish()));
  const check = (chunks) => {
    const reader = new FrameReader(1 << 20);
    const decoder = new FrameDecoder();
    const got = [];
    for (const chunk of chunks) {
      reader.push(chunk);
      while (reader.next()) {
        const m = decoder.decode(reader.frame, reader.start, reader.end);
        got.push(m ?? decoder.decodeOther(reader.frame.subarray(reader.start, reader.end)));
      }
    }
    assert.equal(got.length, bodies.length);
    got.slice(0, 40).forEach((m, i) => {
      const want = bodies[i].event.message;
      assert.deepEqual([m.session, m.channel, m.seq, m.epoch, m.timeUs, m.binary, sha(m.raw)],
        [want.session, want.channel, want.seq, want.epoch, want.timeUs, want.binary, sha(want.data)]);
      assert.equal(decoder.subscriptionId, 3);
    });
    assert.equal(got[40].event.gap.toSeq.toNumber(), 50);
  };
  check([stream]);
  for (let cut = 1; cut < stream.length; cut += 7) check([stream.subarray(0, cut), stream.subarray(cut)]);
  const bytes = [];
  for (let i = 0; i < stream.length; i++) bytes.push(stream.subarray(i, i + 1));
  check(bytes);
  // Several chunks pushed before any frame is taken.
  const reader = new FrameReader(1 << 20);
  for (let o = 0; o < stream.length; o += 100) reader.push(stream.subarray(o, o + 100));
  let n = 0;
  while (reader.next()) n++;
  assert.equal(n, bodies.length);
  // A length over the limit, a bad varint.
  const small = new FrameReader(16);
  small.push(Buffer.from([0x80, 0x01]));
  assert.throws(() => small.next(), ProtocolError);
  const bad = new FrameReader(1 << 20);
  bad.push(Buffer.alloc(11, 0xff));
  assert.throws(() => bad.next(), ProtocolError);
});

wsbTest('node_frames_read_into_the_slab_at_every_boundary', async () => {
  // As the socket reads (onread): into FrameReader.space(), as many bytes as
  // a read brings. A frame cut at any byte by the end of a read, or of a
  // slab, comes out whole; payloads handed out stay as they were while later
  // reads fill the slab and the next ones, and are looked at only at the end.
  const root = protobuf.loadSync(PROTO_PATH);
  const ServerFrame = root.lookupType('wsbridge.v1.ServerFrame');
  const want = [];
  const frames = [];
  for (let i = 1; i <= 3000; i++) {
    const size = i === 1500 ? 600 * 1024 : 100 + (i * 37) % 400; // one frame larger than a slab
    const data = Buffer.alloc(size, i % 251);
    data.writeUInt32BE(i, 0);
    want.push(sha(data));
    frames.push(ServerFrame.encodeDelimited({ event: { subscriptionId: 1, message: { session: 'feed', channel: '*', seq: i, epoch: 7, timeUs: i, binary: true, data } } }).finish());
  }
  const stream = Buffer.concat(frames);
  const read = (reader, bytes) => {
    const space = reader.space();
    const n = Math.min(space.length, bytes.length);
    bytes.copy(space, 0, 0, n);
    reader.wrote(n);
    return n;
  };
  const readAll = (reads) => {
    const reader = new FrameReader(1 << 20);
    const decoder = new FrameDecoder();
    const got = [];
    const slabs = new Set();
    for (let off = 0, i = 0; off < stream.length; i++) {
      off += read(reader, stream.subarray(off, off + reads(i)));
      while (reader.next()) {
        got.push(decoder.decode(reader.frame, reader.start, reader.end));
        slabs.add(reader.frame.buffer);
      }
    }
    assert.equal(reader.next(), false);
    assert.deepEqual(got.map((m) => m.seq), want.map((_, i) => i + 1));
    assert.deepEqual(got.map((m) => sha(m.raw)), want);
    return slabs.size;
  };
  // Reads of every size up to 300 bytes, and of odd sizes up to a slab: the
  // ends of reads fall on every byte of a frame, header included.
  for (let size = 1; size <= 300; size += size < 20 ? 1 : 41) assert.ok(readAll(() => size) > 3);
  assert.ok(readAll((i) => 1 + (i * 7919) % 200000) > 3);
  // A frame split at each byte of its header and body, in two reads.
  const one = frames[2];
  for (let cut = 1; cut < one.length; cut++) {
    const reader = new FrameReader(1 << 20);
    read(reader, one.subarray(0, cut));
    assert.equal(reader.next(), false, `cut at ${cut}`);
    read(reader, one.subarray(cut));
    assert.ok(reader.next(), `cut at ${cut}`);
    assert.equal(new FrameDecoder().decode(reader.frame, reader.start, reader.end).seq, 3);
  }
});

wsbTest('node_large_messages_arrive_whole', async (h) => {
  const { server, daemon } = await feed(h);
  const c = await h.connect(daemon.socket);
  const sub = c.subscribe('feed');
  await once(sub, 'subscribed');
  const big = 'y'.repeat(3 << 20);
  const blob = randomBytes(1 << 20);
  await server.inject('small', big, blob, { burst: 3000, size: 300 }, 'end');
  const items = await take(sub[Symbol.asyncIterator](), (i) => i.some((m) => m.data === 'end'), 30000 * h.slow, 'the end');
  const msgs = messages(items);
  assert.equal(msgs.length, 3004);
  assert.equal(msgs[1].data.length, big.length);
  assert.equal(sha(msgs[1].data), sha(big));
  assert.equal(sha(msgs[2].data), sha(blob));
  accounted(items, 3004);
});

wsbTest('node_slow_subscriber_is_bounded_and_gets_the_daemons_gaps', async (h) => {
  const { server, daemon } = await feed(h, {}, { extra: '[daemon]\nclient_buffer_bytes=65536\n' });
  const c = await h.connect(daemon.socket);
  const sub = c.subscribe('feed', '*', { highWaterMark: 100 });
  const it = sub[Symbol.asyncIterator]();
  await once(sub, 'subscribed');
  const total = 20000;
  await server.inject({ burst: total, size: 100 });
  // Nobody consumes: the client holds at most its highWaterMark, the daemon
  // receives everything all the same.
  let most = 0;
  await waitFor(async () => {
    most = Math.max(most, sub.buffered);
    return (await lastSeq(daemon)) === total;
  }, 30000 * h.slow, `${total} messages at the daemon`);
  assert.ok(most <= 100, `buffered ${most} items`);
  const items = await take(it, (i) => i.length > 0 && (i.at(-1).seq ?? i.at(-1).toSeq) === total,
    30000 * h.slow, `seq ${total}`);
  const gaps = items.filter((i) => i.type === 'gap');
  assert.ok(gaps.length > 0, 'the daemon dropped the oldest messages and said so');
  assert.ok(messages(items).length < total);
  accounted(items, total);
});

wsbTest('node_slow_subscriber_disconnected_resumes', async (h) => {
  const { server, daemon } = await feed(h, { history_messages: 200 },
    { extra: '[daemon]\nclient_buffer_bytes=65536\nslow_client_policy=disconnect\n' });
  const c = await h.connect(daemon.socket, { reconnect: { initialMs: 20, maxMs: 200 } });
  const sub = c.subscribe('feed', '*', { highWaterMark: 100 });
  const it = sub[Symbol.asyncIterator]();
  await once(sub, 'subscribed');
  let disconnects = 0;
  c.on('disconnect', () => disconnects++);
  const total = 20000;
  await server.inject({ burst: total, size: 100 });
  await waitFor(async () => (await lastSeq(daemon)) === total, 30000 * h.slow, `${total} messages at the daemon`);
  // The client notices the daemon's disconnect once it reads again, and
  // resumes after what it delivered: the history's newest messages come
  // back, and gaps stand for what the history lost. Nothing twice.
  const items = await take(it, (i) => i.length > 0 && i.at(-1).seq === total, 30000 * h.slow, `seq ${total}`);
  assert.ok(disconnects >= 1, 'the daemon disconnected the slow client');
  accounted(items, total);
  const gaps = items.filter((i) => i.type === 'gap');
  assert.ok(gaps.length >= 1);
  assert.ok(gaps.every((g) => g.previousEpoch === 0));
  const tail = messages(items).slice(-200);
  assert.deepEqual(tail.map((m) => m.seq), tail.map((_, i) => total - 199 + i));
});
