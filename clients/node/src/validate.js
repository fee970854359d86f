// Checks of the arguments apps pass, with errors that name the argument.

export function checkRecord(what, value) {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new TypeError(`${what} must be an object, not ${value === null ? 'null' : typeof value}`);
}

export function checkName(what, value) {
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string, not ${typeof value}`);
  if (value === '') throw new TypeError(`${what} must not be empty`);
}

/** A channel: a string, where '' means '*'. */
export function checkOptionalName(what, value) {
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string, not ${typeof value}`);
}

export function checkBoolean(what, value) {
  if (typeof value !== 'boolean') throw new TypeError(`${what} must be a boolean, not ${typeof value}`);
}

/** A whole number min..max, as a number or a bigint. */
export function checkCount(what, value, min, max = Number.MAX_SAFE_INTEGER) {
  const n = typeof value === 'bigint' && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max)
    throw new RangeError(`${what} must be a whole number from ${min} to ${max}, not ${String(value)}`);
}

/**
 * An epoch: a number, a bigint or a decimal string. The daemon keeps
 * epochs below 2^53, so numbers hold them exactly.
 */
export function toEpoch(value) {
  let e = value;
  if (typeof value === 'bigint' && value >= 0n && value <= BigInt(Number.MAX_SAFE_INTEGER)) e = Number(value);
  else if (typeof value === 'string' && /^[0-9]{1,16}$/.test(value)) e = Number(value);
  if (typeof e !== 'number' || !Number.isSafeInteger(e) || e < 0)
    throw new RangeError(`epoch must be a whole number from 0 to 2^53-1, not ${String(value)}`);
  return e;
}

/** Data to send as a Buffer: a string (UTF-8), a Buffer, a typed array, a DataView or an ArrayBuffer. */
export function checkData(data) {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (Buffer.isBuffer(data)) return data;
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  throw new TypeError(`data must be a string, a Buffer, a typed array or an ArrayBuffer, not ${data === null ? 'null' : typeof data}`);
}
