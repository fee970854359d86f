// A subscription to one channel of a session: an async iterable and an
// EventEmitter over the same items. It keeps the position (seq and epoch)
// of what it delivered, so that after a daemon restart it resubscribes from
// there, yields one Gap for what could not be recovered, and never yields
// a message twice.
import { EventEmitter } from 'node:events';
import { DaemonUnreachableError } from './errors.js';
import { Gap, StateChange, expectResult, statusFromPb, toLongBits, toNumber } from './protocol.js';

/** The client's side of a subscription (not for apps). */
export const INTERNAL = Symbol('wsbridge.subscription');

/**
 * The ws face's way in (not for apps): sub[PAYLOADS](fn) has each message
 * go to fn(payload, binary) instead of a 'message' event, so that no
 * Message is made for it.
 */
export const PAYLOADS = Symbol('wsbridge.payloads');

const DATA_EVENTS = new Set(['message', 'gap', 'state']);

/** A FIFO in a ring that grows by doubling: nothing is allocated per item, nor shifted. */
class Queue {
  #items = new Array(16);
  #head = 0;
  #length = 0;

  get length() {
    return this.#length;
  }

  push(item) {
    const items = this.#items;
    if (this.#length === items.length) {
      // Full: the same items in order, in a ring twice the size.
      const bigger = new Array(items.length * 2);
      for (let i = 0; i < this.#length; i++) bigger[i] = items[(this.#head + i) & (items.length - 1)];
      this.#items = bigger;
      this.#head = 0;
    }
    this.#items[(this.#head + this.#length++) & (this.#items.length - 1)] = item;
  }

  shift() {
    if (this.#length === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) & (this.#items.length - 1);
    this.#length--;
    return item;
  }

  clear() {
    this.#items = new Array(16);
    this.#head = 0;
    this.#length = 0;
  }
}

export class Subscription extends EventEmitter {
  #client;
  #seq; // position: the last seq delivered (or skipped by a gap) …
  #epoch; // … and its epoch; 0 while live-only and not yet subscribed
  #id = 0;
  #gen = 0; // bumped whenever an answer to an earlier subscribe must be ignored
  #phase = 'subscribing'; // 'subscribing' | 'active' | 'lost' | 'ended'
  #queue = new Queue();
  #highWaterMark;
  #lowWaterMark;
  #held = false;
  #paused = false;
  #listening = false;
  #sink = null; // fn(payload, binary) in place of 'message' events (PAYLOADS)
  #iterating = false;
  #waiter = null;
  #error = null;
  #flushQueued = false;
  #restart = null; // the epoch of before a restart, while its gap is owed
  #opening; // live only: start with the messages the upstream connection opened with
  #openingUpTo = 0; // while those come: the session's last seq when the subscription began …
  #openingSeq = 0; // … and the last of them delivered

  constructor(client, session, channel, sinceSeq, epoch, highWaterMark, opening = false) {
    super();
    this.#client = client;
    this.session = session;
    this.channel = channel;
    this.#seq = sinceSeq;
    this.#epoch = epoch;
    this.#highWaterMark = highWaterMark;
    this.#lowWaterMark = Math.floor(highWaterMark / 2);
    this.#opening = opening;
    /** The session's status when the subscription (re)started, then at each state change. */
    this.status = null;
    this.on('newListener', (event) => {
      if (!DATA_EVENTS.has(event)) return;
      this.#listening = true;
      this.#scheduleFlush();
    });
    this.on('removeListener', (event) => {
      if (DATA_EVENTS.has(event))
        this.#listening = this.#sink !== null || [...DATA_EVENTS].some((e) => this.listenerCount(e) > 0);
    });
    this[INTERNAL] = {
      subscribe: () => this.#subscribe(),
      message: (m) => this.#message(m),
      read: (decoder, buf) => this.#read(decoder, buf),
      gap: (g) => this.#gap(g),
      state: (status) => this.#state(status),
      lost: () => this.#lost(),
      reconnected: () => this.#reconnected(),
      fail: (err) => this.#fail(err),
      end: () => {
        if (this.#phase === 'ended') return;
        this.#end(false);
        this.emit('close');
      },
    };
  }

  [PAYLOADS](fn) {
    this.#sink = fn;
    this.#listening = true;
    this.#scheduleFlush();
  }

  /** Items received and not yet taken by the iterator or a listener. */
  get buffered() {
    return this.#queue.length;
  }

  /** Where the subscription is: the last seq it delivered and its epoch. */
  get position() {
    return { seq: this.#seq, epoch: this.#epoch };
  }

  // ---------------------------------------------------------- daemon side

  // (Re)subscribing. Live only (epoch 0): subscribe. With a position: ask
  // for the session's epoch first. The same epoch resumes after our seq
  // (the daemon replays its history and sends a gap for what it lost). A new
  // one means seq restarted (a daemon restart): subscribe from the start of
  // the new epoch, so that its history is replayed too, and owe the app one
  // gap saying so, with the old epoch. The daemon's catch-up gap, if any,
  // comes first and becomes that gap; else an empty one (1..0) goes before
  // the first item, or at the latest when the GetSession request sent after
  // the subscribe is answered: its reply follows every catch-up event.
  #subscribe() {
    const gen = ++this.#gen;
    this.#phase = 'subscribing';
    if (this.#epoch === 0) {
      this.#request(gen, 0, 0);
      return;
    }
    this.#client.request({ getSession: { session: this.session } }, (reply) => {
      if (gen !== this.#gen) return;
      let epoch;
      try {
        epoch = statusFromPb(expectResult(reply, 'session')).epoch;
      } catch (err) {
        this.#fail(err);
        return;
      }
      if (epoch !== this.#epoch) {
        this.#restart ??= this.#epoch;
        this.#seq = 0;
        this.#epoch = epoch;
      }
      this.#request(gen, this.#seq, this.#epoch);
    }, (err) => this.#requestFailed(gen, err));
  }

  #request(gen, seq, epoch) {
    const { session, channel } = this;
    const opening = epoch === 0 && this.#opening;
    this.#client.request({ subscribe: { session, channel, sinceSeq: seq, epoch: toLongBits(epoch), opening } }, (reply) => {
      if (gen !== this.#gen) {
        // Ended meanwhile: the daemon's subscription is not wanted.
        if (reply.result === 'subscribe') this.#client.request(
          { unsubscribe: { subscriptionId: reply.subscribe.subscriptionId } }, () => {}, () => {});
        return;
      }
      try {
        this.#subscribed(expectResult(reply, 'subscribe'), epoch);
      } catch (err) {
        this.#fail(err);
      }
    }, (err) => this.#requestFailed(gen, err));
    if (this.#restart === null) return;
    this.#client.request({ getSession: { session } }, () => {
      if (gen === this.#gen && this.#restart !== null) this.#owedGap(null);
    }, () => {});
  }

  #requestFailed(gen, err) {
    // A lost connection is the client's to handle: it resubscribes or fails us.
    if (gen === this.#gen && !(err instanceof DaemonUnreachableError)) this.#fail(err);
  }

  #subscribed(r, askedEpoch) {
    this.#id = toNumber(r.subscriptionId);
    this.#client.register(this.#id, this);
    const status = statusFromPb(r.status);
    const previous = this.status;
    this.status = status;
    this.#phase = 'active';
    this.emit('subscribed', status);
    if (askedEpoch === 0) {
      // Live only: from here on is what we deliver (after the opening
      // messages, which are older, when asked for).
      this.#seq = status.lastSeq;
      this.#epoch = status.epoch;
      if (this.#opening) {
        this.#openingUpTo = status.lastSeq;
        this.#openingSeq = 0;
      }
    } else if (status.epoch !== askedEpoch) {
      // The epoch changed again since we asked: the daemon sends a gap for
      // all of the new one, which this one stands for.
      const gap = new Gap(this.session, this.channel, 1, status.lastSeq, status.epoch, this.#restart ?? askedEpoch);
      this.#restart = null;
      this.#seq = status.lastSeq;
      this.#epoch = status.epoch;
      this.#deliver(gap);
    }
    // After a reconnect, the state as it is now (the catch-up events follow;
    // an owed restart gap waits for them).
    if (previous && (previous.state !== status.state || previous.reason !== status.reason))
      this.#deliver(new StateChange(this.session, this.channel, status));
  }

  /** The restart gap owed, before ITEM (or as ITEM, when it is the catch-up gap). */
  #owedGap(item) {
    const previousEpoch = this.#restart;
    this.#restart = null;
    if (item?.type === 'gap' && item.epoch === this.#epoch && item.fromSeq === 1) {
      item.previousEpoch = previousEpoch;
      return;
    }
    this.#deliver(new Gap(this.session, this.channel, 1, 0, this.#epoch, previousEpoch));
  }

  /** Whether message SEQ of EPOCH is one to deliver (not one delivered already); if so, the position moves. */
  #fresh(seq, epoch) {
    if (this.#openingUpTo > 0) {
      if (epoch === this.#epoch && seq <= this.#openingUpTo) {
        // One of the messages the upstream connection opened with.
        if (seq <= this.#openingSeq) return false;
        this.#openingSeq = seq;
        return true;
      }
      this.#openingUpTo = 0;
    }
    if (epoch === this.#epoch && seq <= this.#seq) return false; // already delivered
    if (this.#restart !== null) this.#owedGap(null);
    this.#seq = seq;
    this.#epoch = epoch;
    return true;
  }

  #message(m) {
    if (this.#fresh(m.seq, m.epoch)) this.#deliver(m);
  }

  // A message event, its fields in DECODER (FrameDecoder.read()): a Message
  // is made only for the queue, the iterator or a 'message' listener.
  #read(decoder, buf) {
    if (!this.#fresh(decoder.seq, decoder.epoch)) return;
    if (this.#waiter === null && !this.#iterating && !this.#paused && this.#listening && this.#queue.length === 0) {
      if (this.#sink !== null) this.#sink(decoder.view(buf), decoder.binary);
      else this.emit('message', decoder.message(buf));
      return;
    }
    this.#deliver(decoder.message(buf));
  }

  #gap(g) {
    if (g.epoch === this.#epoch) {
      if (g.toSeq <= this.#seq) return; // already told
      if (g.fromSeq <= this.#seq) g.fromSeq = this.#seq + 1;
    }
    if (this.#restart !== null) this.#owedGap(g);
    this.#seq = g.toSeq;
    this.#epoch = g.epoch;
    this.#deliver(g);
  }

  #take(change) {
    if (this.#restart !== null) this.#owedGap(change);
    this.#deliver(change);
  }

  #state(status) {
    this.status = status;
    this.#take(new StateChange(this.session, this.channel, status));
  }

  #lost() {
    if (this.#phase === 'ended') return;
    this.#openingUpTo = 0;
    this.#gen++;
    this.#id = 0;
    this.#phase = 'lost';
  }

  #reconnected() {
    if (this.#phase === 'lost') this.#subscribe();
  }

  // ---------------------------------------------------------- app side

  #deliver(item) {
    if (this.#waiter !== null) {
      const { resolve } = this.#waiter;
      this.#waiter = null;
      resolve({ value: item, done: false });
      return;
    }
    if (!this.#iterating && !this.#paused && this.#listening && this.#queue.length === 0) {
      this.#emit(item);
      return;
    }
    this.#queue.push(item);
    if (!this.#held && this.#queue.length >= this.#highWaterMark) {
      // Stop reading the socket: the daemon's slow-client policy takes over.
      this.#held = true;
      this.#client.hold();
    }
  }

  #emit(item) {
    if (this.#sink !== null && item.type === 'message') this.#sink(item.raw, item.binary);
    else this.emit(item.type, item);
  }

  #taken() {
    if (this.#held && this.#queue.length <= this.#lowWaterMark) {
      this.#held = false;
      this.#client.release();
    }
  }

  #scheduleFlush() {
    if (this.#flushQueued || this.#iterating) return;
    this.#flushQueued = true;
    queueMicrotask(() => {
      this.#flushQueued = false;
      while (!this.#iterating && !this.#paused && this.#listening && this.#queue.length > 0) {
        const item = this.#queue.shift();
        this.#taken();
        this.#emit(item);
      }
      // An error comes after the items a listener takes, then 'close'.
      // Unheard, it waits for an iterator.
      const heard = this.#listening || this.listenerCount('error') > 0;
      if (this.#error && !this.#iterating && heard
          && (this.#queue.length === 0 || this.#paused || !this.#listening)) {
        const err = this.#error;
        this.#error = null;
        this.emit('error', err);
        this.emit('close');
      }
    });
  }

  /** Emitter use: hold items back (they wait, bounded, as for a slow iterator). */
  pause() {
    this.#paused = true;
    return this;
  }

  resume() {
    this.#paused = false;
    this.#scheduleFlush();
    return this;
  }

  isPaused() {
    return this.#paused;
  }

  [Symbol.asyncIterator]() {
    if (this.#iterating) throw new TypeError('this subscription is already being iterated');
    this.#iterating = true;
    return {
      next: () => this.#next(),
      // Breaking out of the loop unsubscribes without waiting for the
      // daemon's answer (which a held connection would delay).
      return: () => {
        this.close();
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  #next() {
    if (this.#queue.length > 0) {
      const value = this.#queue.shift();
      this.#taken();
      return Promise.resolve({ value, done: false });
    }
    if (this.#error) {
      const err = this.#error;
      this.#error = null;
      return Promise.reject(err);
    }
    if (this.#phase === 'ended') return Promise.resolve({ value: undefined, done: true });
    if (this.#waiter) return Promise.reject(new TypeError('next() called again before the previous one settled'));
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  #fail(err) {
    if (this.#phase === 'ended') return;
    this.#end(true);
    if (this.#waiter) {
      const { reject } = this.#waiter;
      this.#waiter = null;
      reject(err);
      this.emit('close');
      return;
    }
    this.#error = err; // after the items still queued
    if (this.#iterating || !(this.#listening || this.listenerCount('error') > 0)) this.emit('close');
    else this.#scheduleFlush();
  }

  /** Stops taking items; keeps the queued ones when keep (an error follows them). */
  #end(keep) {
    this.#phase = 'ended';
    this.#gen++;
    if (this.#id) this.#client.unregister(this.#id);
    this.#client.forget(this);
    if (!keep) {
      this.#queue.clear();
      if (this.#waiter) {
        const { resolve } = this.#waiter;
        this.#waiter = null;
        resolve({ value: undefined, done: true });
      }
    }
    if (this.#held) {
      this.#held = false;
      this.#client.release();
    }
  }

  /**
   * Unsubscribes: the iterator finishes, 'close' is emitted, queued items
   * are dropped. Resolves once the daemon has ended its subscription.
   */
  async close() {
    if (this.#phase === 'ended') return;
    const id = this.#id;
    this.#end(false);
    if (id) {
      // An error means the connection or the client is gone, and the
      // daemon's subscription with it.
      await new Promise((resolve) => this.#client.request({ unsubscribe: { subscriptionId: id } }, resolve, resolve));
    }
    this.emit('close');
  }

  /** The same as close(). */
  unsubscribe() {
    return this.close();
  }
}
