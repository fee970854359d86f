// Errors: WsbridgeError carries the daemon's ErrorCode name without its
// prefix ("NOT_FOUND"); a subclass per code that apps handle on their own.

export class WsbridgeError extends Error {
  /**
   * @param {string} code  the ErrorCode name without ERROR_CODE_, or a client code
   * @param {string} message
   * @param {ErrorOptions} [options]
   */
  constructor(code, message, options) {
    super(message, options);
    this.code = code;
  }

  get name() {
    return this.constructor.name;
  }
}

export class NotFoundError extends WsbridgeError {}
export class AccessDeniedError extends WsbridgeError {}
export class QueueFullError extends WsbridgeError {}
export class InvalidArgumentError extends WsbridgeError {}
export class AlreadyExistsError extends WsbridgeError {}

/** The daemon cannot be reached, or the connection to it was lost for good. */
export class DaemonUnreachableError extends WsbridgeError {
  /**
   * @param {string} socketPath
   * @param {string} reason
   * @param {ErrorOptions} [options]
   */
  constructor(socketPath, reason, options) {
    super('DAEMON_UNREACHABLE', `cannot reach wsbridged at ${socketPath}: ${reason}`, options);
    this.socketPath = socketPath;
    this.reason = reason;
  }
}

const BY_CODE = {
  NOT_FOUND: NotFoundError,
  ACCESS_DENIED: AccessDeniedError,
  QUEUE_FULL: QueueFullError,
  INVALID_ARGUMENT: InvalidArgumentError,
  ALREADY_EXISTS: AlreadyExistsError,
};

/** The error for an Error message of the daemon ({ code: 'ERROR_CODE_…', message }). */
export function daemonError(code, message) {
  const name = String(code).replace(/^ERROR_CODE_/, '');
  const Class = BY_CODE[name] ?? WsbridgeError;
  return new Class(name, message || `wsbridged answered ${name}`);
}

// Text for the errno codes a Unix-socket connect fails with.
const ERRNO_TEXT = {
  ENOENT: 'no such file or directory',
  ECONNREFUSED: 'connection refused (no daemon listens on it)',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a component of the path is not a directory',
  ENOTSOCK: 'not a socket',
  EPROTOTYPE: 'not a stream socket',
  ECONNRESET: 'connection reset by the daemon',
  EPIPE: 'the daemon closed the connection',
  ETIMEDOUT: 'timed out',
};

/** A short reason for a socket error (Node's own message names the syscall). */
export function describeSocketError(err) {
  return ERRNO_TEXT[err?.code] ?? err?.message ?? String(err);
}
