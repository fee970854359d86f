"""Where the daemon's socket is, by the same rules as ``wsbridgectl``."""

from __future__ import annotations

import os
import pwd

__all__ = ["default_socket", "SYSTEM_SOCKET"]

#: The system instance's socket.
SYSTEM_SOCKET = "/run/wsbridge/wsbridge.sock"


def _build_filename(first: str, *rest: str) -> str:
    """Join like GLib's g_build_filename: one separator between elements,
    separators at the start of the first element kept."""
    head = first.rstrip("/")
    if not head:
        head = first  # "" stays "", "/" or "//" stay as they are
        if head:
            return head + "/".join(rest)
    return "/".join([head, *rest]) if head else "/".join(rest)


def _home_dir() -> str:
    # GLib takes $HOME when it is set (even empty), else the passwd entry.
    if "HOME" in os.environ:
        return os.environ["HOME"]
    try:
        return pwd.getpwuid(os.getuid()).pw_dir
    except KeyError:
        return "/"


def _user_runtime_dir() -> str:
    """g_get_user_runtime_dir(): $XDG_RUNTIME_DIR, else the user's cache dir
    ($XDG_CACHE_HOME, else ~/.cache)."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return runtime
    cache = os.environ.get("XDG_CACHE_HOME")
    if cache:
        return cache
    return _build_filename(_home_dir(), ".cache")


def default_socket() -> str:
    """The socket ``wsbridgectl`` talks to without ``--socket``:
    ``$WSBRIDGE_SOCKET`` when set and not empty, else the user instance's
    ``$XDG_RUNTIME_DIR/wsbridge/wsbridge.sock`` (without ``XDG_RUNTIME_DIR``,
    GLib's fallback: ``$XDG_CACHE_HOME``, else ``~/.cache``)."""
    env = os.environ.get("WSBRIDGE_SOCKET")
    if env:
        return env
    return _build_filename(_user_runtime_dir(), "wsbridge", "wsbridge.sock")
