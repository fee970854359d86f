// What node-subscriber.mjs and node-direct.mjs share: the count, the clock
// and the report, in run-bench's client contract (benchlib.py): "READY"
// once they can receive, then "RATE <msgs/s> COUNT <n> …" and one JSON
// result line after --count messages (a gap's messages count as lost).
export class Meter {
  constructor(client, count, idleSeconds) {
    if (!Number.isSafeInteger(count) || count < 2) throw new RangeError(`--count must be a whole number ≥ 2, not ${count}`);
    this.client = client;
    this.count = count;
    this.messages = 0;
    this.bytes = 0;
    this.lost = 0;
    this.first = 0n;
    this.last = 0n;
    this.cpu = null;
    this.idle = setInterval(() => {
      if (this.messages === this.seen) this.report(`nothing came for ${idleSeconds} s`);
      this.seen = this.messages;
    }, idleSeconds * 1000);
    this.seen = -1;
  }

  ready() {
    console.log('READY');
  }

  /** One message's payload; true once the count is reached. */
  message(payload) {
    if (this.messages === 0) {
      this.first = process.hrtime.bigint();
      this.cpu = process.cpuUsage();
    }
    this.bytes += payload.length;
    this.messages++;
    return this.done();
  }

  gap(n) {
    this.lost += n;
    return this.done();
  }

  done() {
    if (this.messages + this.lost < this.count) return false;
    this.last = process.hrtime.bigint();
    return true;
  }

  /** Prints the results (complete unless ERROR) and exits. */
  report(error) {
    clearInterval(this.idle);
    const last = this.last || process.hrtime.bigint();
    const seconds = this.messages ? Number(last - this.first) / 1e9 : 0;
    const rate = seconds > 0 ? (this.messages - 1) / seconds : 0;
    const used = this.cpu ? process.cpuUsage(this.cpu) : { user: 0, system: 0 };
    const cpuNs = this.messages > 1 ? Math.round(((used.user + used.system) * 1000) / (this.messages - 1)) : 0;
    console.log(`RATE ${Math.round(rate)} COUNT ${this.messages} BYTES ${this.bytes} LOST ${this.lost} CPU_NS_PER_MSG ${cpuNs}`);
    console.log(JSON.stringify({
      client: this.client, complete: !error, messages: this.messages, bytes: this.bytes, lost: this.lost,
      first_ns: Number(this.first), last_ns: Number(last), seconds, rate, cpu_ns_per_msg: cpuNs,
      ...(error ? { error } : {}),
    }));
    process.exit(error ? 1 : 0);
  }
}
