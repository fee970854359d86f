// Which socket to talk to, by the rule of wsbridgectl (clients/wsbridgectl/
// wsbridgectl.c, choose_socket_path): an explicit path, else
// $WSBRIDGE_SOCKET, else the system instance's when asked for, else the user
// instance's, $XDG_RUNTIME_DIR/wsbridge/wsbridge.sock, with GLib's
// g_get_user_runtime_dir() fallbacks when XDG_RUNTIME_DIR is unset or empty.
import { userInfo } from 'node:os';

export const SYSTEM_SOCKET = '/run/wsbridge/wsbridge.sock';

/** g_build_filename(): joins with one '/', skipping empty elements. */
function buildFilename(...parts) {
  const kept = parts.filter((p) => p !== '');
  return kept
    .map((p, i) => {
      let s = p;
      if (i > 0) s = s.replace(/^\/+/, '');
      if (i < kept.length - 1) s = s.replace(/\/+$/, '');
      return s;
    })
    .join('/');
}

/** g_get_home_dir(): $HOME when set (even empty), else the password database's. */
function homeDir(env) {
  if (env.HOME !== undefined) return env.HOME;
  try {
    return userInfo().homedir || '/';
  } catch {
    return '/';
  }
}

/** g_get_user_runtime_dir(): $XDG_RUNTIME_DIR, else g_get_user_cache_dir(). */
function userRuntimeDir(env) {
  if (env.XDG_RUNTIME_DIR) return env.XDG_RUNTIME_DIR;
  if (env.XDG_CACHE_HOME) return env.XDG_CACHE_HOME;
  return buildFilename(homeDir(env), '.cache');
}

/**
 * The socket path wsbridgectl would use.
 * @param {string | undefined | null} explicit  like --socket (empty means not given)
 * @param {{ system?: boolean, env?: NodeJS.ProcessEnv }} [options]
 */
export function defaultSocketPath(explicit, { system = false, env = process.env } = {}) {
  if (explicit != null && typeof explicit !== 'string')
    throw new TypeError(`socket path must be a string, not ${typeof explicit}`);
  if (explicit) return explicit;
  if (env.WSBRIDGE_SOCKET) return env.WSBRIDGE_SOCKET;
  if (system) return SYSTEM_SOCKET;
  return buildFilename(userRuntimeDir(env), 'wsbridge', 'wsbridge.sock');
}
