// The wire protocol: the schema loaded by protobufjs from wsbridge.proto,
// protobuf's delimited framing, and the items apps see (Message, Gap,
// StateChange, SessionStatus).
//
// Message events are most of the traffic, so they have a decoder of their
// own that reads a frame in place: the data is a view of the slab the
// socket read into (no copy per message), and session, channel and epoch, the
// same in message after message, are decoded once. Its field numbers and
// wire types come from the loaded schema, and are checked against it when
// this module loads. Every other frame goes through protobufjs.
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import protobuf from 'protobufjs';

// The package ships a copy made by `npm pack` (scripts/proto-copy.js); the
// source tree has only the original, three levels up.
const SHIPPED = fileURLToPath(new URL('../proto/wsbridge.proto', import.meta.url));
const IN_TREE = fileURLToPath(new URL('../../../proto/wsbridge.proto', import.meta.url));

function loadSchema() {
  for (const path of [SHIPPED, IN_TREE]) {
    try {
      return { path, root: protobuf.loadSync(path) };
    } catch (err) {
      if (err.code !== 'ENOENT') throw err;
    }
  }
  throw new Error(`wsbridge: the schema is missing: neither ${SHIPPED} nor ${IN_TREE} exists`);
}

const { path: protoPath, root } = loadSchema();
export const PROTO_PATH = protoPath;

export const API_MAJOR = 1;
export const API_MINOR = 2;

const type = (name) => root.lookupType(`wsbridge.v1.${name}`);
const ClientFrame = type('ClientFrame');
const ServerFrame = type('ServerFrame');
const EventType = type('Event');
const MessageType = type('Message');
const SessionStateEnum = root.lookupEnum('wsbridge.v1.SessionState');
const SendResultEnum = root.lookupEnum('wsbridge.v1.SendResult');
const ErrorCodeEnum = root.lookupEnum('wsbridge.v1.ErrorCode');

/** A frame from the daemon that does not follow the protocol. */
export class ProtocolError extends Error {
  get name() {
    return 'ProtocolError';
  }
}

/** The result of a Reply, after checking it is the kind the request asks for. */
export function expectResult(reply, kind) {
  if (reply.result !== kind)
    throw new ProtocolError(`the daemon answered a ${kind} request with ${reply.result ?? 'nothing'}`);
  return reply[kind];
}

// ------------------------------------------------------------ small values

const TWO_32 = 2 ** 32;

/** A uint64/int64 from protobufjs (Long or number) as a number. */
export function toNumber(v) {
  if (typeof v === 'number') return v;
  if (v == null) return 0;
  return v.unsigned ? (v.high >>> 0) * TWO_32 + (v.low >>> 0) : v.high * TWO_32 + (v.low >>> 0);
}

/** A whole number 0 ≤ v < 2^64 (exact below 2^53) in the form protobufjs encodes as 64 bits. */
export function toLongBits(v) {
  return { low: v % TWO_32 | 0, high: Math.floor(v / TWO_32) | 0, unsigned: true };
}

const lowerSuffix = (name, prefix) => name.slice(prefix.length).toLowerCase();

export function stateName(n) {
  const name = SessionStateEnum.valuesById[n];
  return name ? lowerSuffix(name, 'SESSION_STATE_') : `unknown(${n})`;
}

export function sendResultName(n) {
  const name = SendResultEnum.valuesById[n];
  return name ? lowerSuffix(name, 'SEND_RESULT_') : `unknown(${n})`;
}

export function errorCodeName(n) {
  return (ErrorCodeEnum.valuesById[n] ?? `ERROR_CODE_${n}`).replace(/^ERROR_CODE_/, '');
}

// ------------------------------------------------------------ items

// The class of the Buffers that subarray() makes (Buffer[Symbol.species]),
// used directly: half the cost of subarray(), which looks it up every time.
const FastBuffer = Buffer[Symbol.species];

/** buf[start .. end) as a Buffer that shares its memory. */
export const viewOf = FastBuffer !== Buffer && FastBuffer.prototype === Buffer.prototype
  ? (buf, start, end) => new FastBuffer(buf.buffer, buf.byteOffset + start, end - start)
  : (buf, start, end) => Buffer.from(buf.buffer, buf.byteOffset + start, end - start);

/** One inbound message of a session's channel. */
export class Message {
  #buf;
  #start;
  #end;
  #raw;
  #text;

  /** The payload is buf[start .. end): a view of the socket's read buffer, made when used. */
  constructor(session, channel, seq, epoch, timeUs, binary, buf, start, end) {
    this.type = 'message';
    this.session = session;
    this.channel = channel;
    this.seq = seq;
    this.epoch = epoch;
    this.timeUs = timeUs;
    this.binary = binary;
    this.#buf = buf;
    this.#start = start;
    this.#end = end;
  }

  /** The payload's length in bytes. */
  get size() {
    return this.#end - this.#start;
  }

  /** The payload as received, a Buffer that shares memory with the read buffer. */
  get raw() {
    if (this.#raw === undefined) this.#raw = viewOf(this.#buf, this.#start, this.#end);
    return this.#raw;
  }

  /** A string for a text message (decoded once, on first use), the Buffer for a binary one. */
  get data() {
    if (this.binary) return this.raw;
    if (this.#text === undefined) this.#text = this.#buf.toString('utf8', this.#start, this.#end);
    return this.#text;
  }

  toJSON() {
    const { type, session, channel, seq, epoch, timeUs, binary } = this;
    return {
      type, session, channel, seq, epoch, timeUs, binary,
      data: binary ? this.raw.toString('base64') : this.data,
    };
  }

  [inspect.custom](depth, options, inspectFn = inspect) {
    const { session, channel, seq, epoch, timeUs, binary } = this;
    return `Message ${inspectFn({ session, channel, seq, epoch, timeUs, binary, data: this.data }, options)}`;
  }
}

/** Messages fromSeq..toSeq (inclusive) of epoch that this subscription will never see. */
export class Gap {
  constructor(session, channel, fromSeq, toSeq, epoch, previousEpoch = 0) {
    this.type = 'gap';
    this.session = session;
    this.channel = channel;
    this.fromSeq = fromSeq;
    this.toSeq = toSeq;
    this.epoch = epoch;
    /** Set when seq restarted (the daemon restarted): the epoch the subscription was in. */
    this.previousEpoch = previousEpoch;
  }
}

/** The session changed state (connecting, open, backoff, …). */
export class StateChange {
  constructor(session, channel, status) {
    this.type = 'state';
    this.session = session;
    this.channel = channel;
    this.state = status.state;
    this.reason = status.reason;
    this.status = status;
  }
}

export function statusFromPb(s) {
  return {
    name: s.name,
    url: s.url,
    state: stateName(s.state),
    reason: s.reason,
    epoch: toNumber(s.epoch),
    lastSeq: toNumber(s.lastSeq),
    reconnects: toNumber(s.reconnects),
    rxMessages: toNumber(s.rxMessages),
    txMessages: toNumber(s.txMessages),
    queuedMessages: toNumber(s.queuedMessages),
    rttUs: toNumber(s.rttUs),
    nextRetryUs: toNumber(s.nextRetryUs),
    closeCode: s.closeCode,
    closeReason: s.closeReason,
  };
}

export function messageFromPb(m) {
  return new Message(m.session, m.channel, toNumber(m.seq), toNumber(m.epoch),
    toNumber(m.timeUs), m.binary, m.data, 0, m.data.length);
}

export function gapFromPb(g) {
  return new Gap(g.session, g.channel, toNumber(g.fromSeq), toNumber(g.toSeq), toNumber(g.epoch));
}

// ------------------------------------------------------------ encoding

/** One ClientFrame, length-delimited, ready to write. */
export function encodeClientFrame(frame) {
  const err = ClientFrame.verify(frame);
  if (err) throw new TypeError(`invalid request: ${err}`);
  return ClientFrame.encodeDelimited(frame).finish();
}

// ------------------------------------------------------------ framing

// The socket reads into a slab (net.Socket's onread), each read after the
// last, so a frame that straddles two reads is whole in memory without a
// copy; only when a slab is full is the unfinished frame moved to the next.
// Nothing handed out is ever written over: a payload's view stays valid, and
// keeps its slab alive, for as long as the app holds it.
const SLAB_BYTES = 256 * 1024;
const MIN_READ = 64 * 1024;

/**
 * Splits the byte stream into frame bodies, views of the slab they were
 * read into. space() is where the next read goes, wrote(n) says it took n
 * bytes; push() copies a chunk in, for callers that have chunks instead.
 */
export class FrameReader {
  constructor(maxFrameBytes) {
    this.maxFrameBytes = maxFrameBytes;
    this.slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    this.pos = 0; // the first byte not yet taken as a frame …
    this.filled = 0; // … and the end of the bytes read
    this.need = 0; // the size of the unfinished frame at pos, once its header is read
    this.frame = null; // where next() found the frame
    this.start = 0;
    this.end = 0;
  }

  /** Where the next read goes: the rest of the slab, or a new one holding the unread bytes. */
  space() {
    const room = this.slab.length - this.filled;
    if (room >= MIN_READ && this.pos + this.need <= this.slab.length) return this.slab.subarray(this.filled);
    const unread = this.filled - this.pos;
    const slab = Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, unread + MIN_READ, this.need + MIN_READ));
    this.slab.copy(slab, 0, this.pos, this.filled);
    this.slab = slab;
    this.pos = 0;
    this.filled = unread;
    return slab.subarray(unread);
  }

  /** N bytes were read into space(). */
  wrote(n) {
    this.filled += n;
  }

  push(chunk) {
    for (let off = 0; off < chunk.length;) {
      const space = this.space();
      const n = Math.min(space.length, chunk.length - off);
      chunk.copy(space, 0, off, off + n);
      this.wrote(n);
      off += n;
    }
  }

  /**
   * Finds the next complete frame: returns false until more bytes come, else
   * true with its body at this.frame[this.start .. this.end).
   */
  next() {
    const buf = this.slab;
    const start = this.pos;
    const end = this.filled;
    let p = start;
    let len = 0;
    let mul = 1;
    for (;;) {
      if (p >= end) {
        this.need = 0;
        return false;
      }
      const b = buf[p++];
      len += (b & 0x7f) * mul;
      if (b < 0x80) break;
      mul *= 0x80;
      if (p - start >= 10) throw new ProtocolError('bad varint in a frame length');
    }
    if (len > this.maxFrameBytes)
      throw new ProtocolError(`frame of ${len} bytes is over the limit of ${this.maxFrameBytes}`);
    if (p + len > end) {
      this.need = p - start + len;
      return false;
    }
    this.pos = p + len;
    this.need = 0;
    this.frame = buf;
    this.start = p;
    this.end = p + len;
    return true;
  }
}

// ------------------------------------------------------------ decoding

const WIRE = { varint: 0, i64: 1, len: 2, i32: 5 };
const WIRE_OF_TYPE = {
  string: WIRE.len, bytes: WIRE.len, uint64: WIRE.varint, int64: WIRE.varint, bool: WIRE.varint,
  uint32: WIRE.varint, fixed64: WIRE.i64,
};

/** The tag of TYPE's field NAME; throws if its type is not the one the fast path reads. */
function tagOf(msgType, name, protoType) {
  const field = msgType.fields[name];
  const wire = protoType in WIRE_OF_TYPE ? WIRE_OF_TYPE[protoType] : WIRE.len;
  if (!field || field.type !== protoType)
    throw new Error(`${PROTO_PATH}: ${msgType.name}.${name} is not a ${protoType} field; ` +
      'src/protocol.js reads message events with that assumption');
  return field.id * 8 + wire;
}

const TAG_FRAME_EVENT = tagOf(ServerFrame, 'event', 'Event');
const TAG_EVENT_SUB = tagOf(EventType, 'subscriptionId', 'uint64');
const TAG_EVENT_MESSAGE = tagOf(EventType, 'message', 'Message');
const TAG_SESSION = tagOf(MessageType, 'session', 'string');
const TAG_CHANNEL = tagOf(MessageType, 'channel', 'string');
const TAG_SEQ = tagOf(MessageType, 'seq', 'uint64');
const TAG_EPOCH = tagOf(MessageType, 'epoch', 'fixed64');
const TAG_TIME = tagOf(MessageType, 'timeUs', 'int64');
const TAG_BINARY = tagOf(MessageType, 'binary', 'bool');
const TAG_DATA = tagOf(MessageType, 'data', 'bytes');

/** Whether buf[s .. e) holds the bytes of last (a loop: names are short). */
function sameBytes(last, buf, s, e) {
  if (last === null || last.length !== e - s) return false;
  for (let i = 0; i < last.length; i++) if (last[i] !== buf[s + i]) return false;
  return true;
}

const TWO_63 = 2 ** 63;

let at = 0; // where the last varintAt() ended

/** The varint at buf[p], a number (exact up to 2^53); sets at to where it ends. */
function varintAt(buf, p, end) {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (p >= end) throw new ProtocolError('truncated varint in a frame');
    const b = buf[p++];
    v += (b & 0x7f) * mul;
    if (b < 0x80) {
      at = p;
      return v;
    }
    mul *= 0x80;
  }
  throw new ProtocolError('bad varint in a frame');
}

/** The int64 at buf[p] (a varint of 10 bytes, read already) that is negative, exactly. */
function negativeAt(buf, p) {
  let v = 0n;
  for (let i = 0; i < 10; i++) v |= BigInt(buf[p + i] & 0x7f) << BigInt(7 * i);
  return Number(BigInt.asIntN(64, v));
}

/** Past a field of a message that the fast path does not read (a varint's value or a length read as V). */
function skip(buf, p, end, tag, v) {
  switch (tag & 7) {
    case WIRE.varint:
      break;
    case WIRE.len:
      p += v;
      break;
    case WIRE.i64:
      p += 8;
      break;
    case WIRE.i32:
      p += 4;
      break;
    default:
      throw new ProtocolError(`unexpected wire type ${tag & 7} in a message`);
  }
  if (p > end) throw new ProtocolError('a field runs past the end of its frame');
  return p;
}

/**
 * Decodes frame bodies. read() takes a message event apart without making
 * anything: it returns true and leaves the fields in the decoder
 * (subscriptionId, session, channel, seq, epoch, timeUs, binary and the
 * payload at dataStart .. dataEnd of the frame), for message() or view() to
 * make what is asked for; any other frame is false, for decodeOther().
 * decode() is read() and message() in one. One per connection: it caches
 * the strings of the last message.
 */
export class FrameDecoder {
  constructor() {
    this.subscriptionId = 0;
    this.sessionBytes = null; // the cache: the last session's bytes and text …
    this.sessionText = '';
    this.channelBytes = null; // … and the last channel's
    this.channelText = '';
    this.session = ''; // the fields of the message read last
    this.channel = '';
    this.seq = 0;
    this.epoch = 0;
    this.timeUs = 0;
    this.binary = false;
    this.dataStart = 0;
    this.dataEnd = 0;
  }

  /** The message of a message event (subscriptionId set), or null for any other frame. */
  decode(buf, start, end) {
    return this.read(buf, start, end) ? this.message(buf) : null;
  }

  /** The Message read last, BUF being the frame it was read from. */
  message(buf) {
    return new Message(this.session, this.channel, this.seq, this.epoch, this.timeUs, this.binary,
      buf, this.dataStart, this.dataEnd);
  }

  /** The payload read last, a Buffer sharing memory with BUF. */
  view(buf) {
    return viewOf(buf, this.dataStart, this.dataEnd);
  }

  read(buf, start, end) {
    // Tags and lengths are read inline while they fit in a byte (as in
    // every frame the daemon writes), by varintAt() beyond.
    let p = start;
    if (end - start < 2 || buf[p] !== TAG_FRAME_EVENT) return false;
    let n = buf[p + 1];
    if (n < 0x80) p += 2;
    else {
      n = varintAt(buf, p + 1, end);
      p = at;
    }
    if (p + n !== end) return false; // anything after the event: let protobufjs sort it out
    let sub = 0;
    let msgStart = -1;
    let msgEnd = -1;
    while (p < end) {
      const tag = buf[p++];
      if (tag === TAG_EVENT_SUB) {
        sub = p < end ? buf[p] : 0x80;
        if (sub < 0x80) p++;
        else {
          sub = varintAt(buf, p, end);
          p = at;
        }
      } else if (tag === TAG_EVENT_MESSAGE) {
        n = p < end ? buf[p] : 0x80;
        if (n < 0x80) p++;
        else {
          n = varintAt(buf, p, end);
          p = at;
        }
        msgStart = p;
        msgEnd = p + n;
        if (msgEnd > end) throw new ProtocolError('a field runs past the end of its frame');
        p = msgEnd;
      } else return false; // gap, state, outcome, a field this client does not know, a long tag
    }
    if (msgStart < 0) return false;
    if (!this.#inOrder(buf, msgStart, msgEnd)) this.#message(buf, msgStart, msgEnd);
    this.subscriptionId = sub;
    return true;
  }

  // The message as the daemon writes it: its fields in order, data last,
  // binary only when true, every tag and length in a byte (but the
  // payload's length). False, with nothing set, for any other layout.
  #inOrder(buf, start, end) {
    let p = start;
    if (buf[p] !== TAG_SESSION) return false;
    let n = buf[p + 1];
    if (n >= 0x80 || p + 2 + n > end) return false;
    const session = this.#cachedSession(buf, p + 2, p + 2 + n);
    p += 2 + n;
    if (buf[p] !== TAG_CHANNEL) return false;
    n = buf[p + 1];
    if (n >= 0x80 || p + 2 + n > end) return false;
    const channel = this.#cachedChannel(buf, p + 2, p + 2 + n);
    p += 2 + n;
    if (buf[p] !== TAG_SEQ || p + 1 >= end) return false;
    let seq = buf[p + 1];
    if (seq < 0x80) p += 2;
    else {
      seq = varintAt(buf, p + 1, end);
      p = at;
    }
    if (buf[p] !== TAG_EPOCH || p + 9 > end) return false;
    const epoch = ((buf[p + 5] | buf[p + 6] << 8 | buf[p + 7] << 16 | buf[p + 8] << 24) >>> 0) * TWO_32
      + ((buf[p + 1] | buf[p + 2] << 8 | buf[p + 3] << 16 | buf[p + 4] << 24) >>> 0);
    p += 9;
    if (buf[p] !== TAG_TIME || p + 1 >= end) return false;
    const timeUs = varintAt(buf, p + 1, end);
    if (timeUs >= TWO_63) return false;
    p = at;
    let binary = false;
    if (buf[p] === TAG_BINARY) {
      if (buf[p + 1] !== 1 || p + 2 > end) return false;
      binary = true;
      p += 2;
    }
    if (buf[p] !== TAG_DATA || p + 1 >= end) return false;
    n = varintAt(buf, p + 1, end);
    if (at + n !== end) return false;
    this.session = session;
    this.channel = channel;
    this.seq = seq;
    this.epoch = epoch;
    this.timeUs = timeUs;
    this.binary = binary;
    this.dataStart = at;
    this.dataEnd = end;
    return true;
  }

  // Any other layout, field by field.
  #message(buf, start, end) {
    let session = '';
    let channel = '';
    let seq = 0;
    let epoch = 0;
    let timeUs = 0;
    let binary = false;
    let dataStart = start;
    let dataEnd = start;
    let p = start;
    while (p < end) {
      let tag = buf[p];
      if (tag < 0x80) p++;
      else {
        tag = varintAt(buf, p, end);
        p = at;
      }
      // A varint field's value, or the length of a length-delimited one.
      let v = 0;
      const wire = tag & 7;
      const vp = p;
      if (wire === WIRE.varint || wire === WIRE.len) {
        v = p < end ? buf[p] : 0x80;
        if (v < 0x80) p++;
        else {
          v = varintAt(buf, p, end);
          p = at;
        }
      }
      switch (tag) {
        case TAG_SESSION:
          if (p + v > end) throw new ProtocolError('a field runs past the end of its frame');
          session = this.#cachedSession(buf, p, p + v);
          p += v;
          break;
        case TAG_CHANNEL:
          if (p + v > end) throw new ProtocolError('a field runs past the end of its frame');
          channel = this.#cachedChannel(buf, p, p + v);
          p += v;
          break;
        case TAG_SEQ:
          seq = v;
          break;
        case TAG_EPOCH:
          if (p + 8 > end) throw new ProtocolError('truncated fixed64 in a message');
          epoch = ((buf[p + 4] | buf[p + 5] << 8 | buf[p + 6] << 16 | buf[p + 7] << 24) >>> 0) * TWO_32
            + ((buf[p] | buf[p + 1] << 8 | buf[p + 2] << 16 | buf[p + 3] << 24) >>> 0);
          p += 8;
          break;
        case TAG_TIME:
          timeUs = v >= TWO_63 ? negativeAt(buf, vp) : v;
          break;
        case TAG_BINARY:
          binary = v !== 0;
          break;
        case TAG_DATA:
          dataStart = p;
          dataEnd = p + v;
          if (dataEnd > end) throw new ProtocolError('a field runs past the end of its frame');
          p = dataEnd;
          break;
        default:
          p = skip(buf, p, end, tag, v);
      }
    }
    this.session = session;
    this.channel = channel;
    this.seq = seq;
    this.epoch = epoch;
    this.timeUs = timeUs;
    this.binary = binary;
    this.dataStart = dataStart;
    this.dataEnd = dataEnd;
  }

  #cachedSession(buf, s, e) {
    if (!sameBytes(this.sessionBytes, buf, s, e)) {
      this.sessionBytes = Buffer.from(buf.subarray(s, e));
      this.sessionText = this.sessionBytes.toString('utf8');
    }
    return this.sessionText;
  }

  #cachedChannel(buf, s, e) {
    if (!sameBytes(this.channelBytes, buf, s, e)) {
      this.channelBytes = Buffer.from(buf.subarray(s, e));
      this.channelText = this.channelBytes.toString('utf8');
    }
    return this.channelText;
  }

  /** Any frame through protobufjs; a plain object with Longs. */
  decodeOther(buf) {
    try {
      return ServerFrame.decode(buf);
    } catch (e) {
      throw new ProtocolError(`undecodable frame from the daemon: ${e.message}`);
    }
  }
}
