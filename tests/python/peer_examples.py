"""Helpers for the ported peer examples: an echo server (with or without a
greeting), a daemon with sessions on it, and a runner that executes a
program as a user would (its own process, WSBRIDGE_SOCKET set)."""

import os
import pathlib
import subprocess
import sys

from pyclient import client_env
from wsbtest import Server, session_conf

ECHO = pathlib.Path(__file__).resolve().parent / "echo_server.py"


class EchoServer(Server):
    script = ECHO


def echo_daemon(wsb, greeting=None):
    """An echo server, a greeting ws_server (ticks on subscribe) and a daemon
    with sessions "echo" (the echo server), "welcome" (an echo server that
    greets every connection, as echo.websocket.events does), "greet" (greets
    every connection, ticks after a subscribe) and "down" (not connected)."""
    echo = EchoServer(wsb.tmp, f"echo{len(wsb.servers) + 1}", [], "127.0.0.1")
    wsb.servers.append(echo)
    echo.start()
    greet = wsb.server("--greeting", greeting or "hello from {conn}", "--tick-after-subscribe",
                       "--send-interval", "0.1")
    welcome = EchoServer(wsb.tmp, f"echo{len(wsb.servers) + 1}",
                         ["--greeting", "echo.websocket.events sponsored by nobody"], "127.0.0.1")
    wsb.servers.append(welcome)
    welcome.start()
    conf = (session_conf("echo", echo.url) + session_conf("greet", greet.url)
            + session_conf("welcome", welcome.url)
            + session_conf("down", echo.url, autoconnect="false"))
    daemon = wsb.daemon(conf)
    for name in ("echo", "greet", "welcome"):
        daemon.wait_state(name, "open")
    return echo, greet, daemon


def run_program(daemon, source, tmp_path, timeout=30.0, name="example.py"):
    """Run SOURCE as a program; returns (returncode, stdout, stderr). A
    program still running after TIMEOUT is ended with SIGINT, as a user
    would with Ctrl-C, and its returncode is None."""
    path = tmp_path / name
    path.write_text(source)
    env = client_env(WSBRIDGE_SOCKET=str(daemon.socket), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        out, err = proc.communicate(timeout=timeout)
        return proc.returncode, out, err
    except subprocess.TimeoutExpired:
        proc.send_signal(2)
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        return None, out, err


__all__ = ["EchoServer", "echo_daemon", "run_program", "os"]
