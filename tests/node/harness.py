#!/usr/bin/python3
"""The Node tests' process harness: wsbtest.Harness driven over stdin/stdout.

tests/node/harness.js starts this for each test case and sends one JSON
request per line, {"op": NAME, ...arguments}; each gets one JSON line back,
{"ok": RESULT} or {"error": TEXT}. So the Node tests start the real daemon
and the real ws_server.py exactly as the pytest integration tests do, with
the same teardown checks ("close" returns the problems found).
"""

import base64
import json
import pathlib
import shutil
import sys
import tempfile
import traceback

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "harness"))
import wsbtest  # noqa: E402


def to_json(value):
    return {"b64": base64.b64encode(value).decode()} if isinstance(value, bytes) else value


def from_json(value):
    return base64.b64decode(value["b64"]) if isinstance(value, dict) and "b64" in value else value


class Driver:
    def __init__(self):
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="wsb-node-"))
        self.harness = wsbtest.Harness(self.tmp)
        self.servers = {}
        self.configs = {}

    def daemon_obj(self, index):
        return self.harness.daemons[index - 1]

    @staticmethod
    def config_text(sessions, extra):
        """[daemon] and other groups from EXTRA, then one [session] group per
        entry of SESSIONS ({"name", "url", more keys})."""
        text = extra or ""
        for s in sessions or []:
            keys = {k: v for k, v in s.items() if k not in ("name", "url")}
            text += wsbtest.session_conf(s["name"], s["url"], **keys)
        return text

    # ------------------------------------------------------------ ops

    def op_hello(self):
        return {"slow": wsbtest.SLOW, "ctl": str(wsbtest.CTL), "tmp": str(self.tmp),
                "rundir": str(self.harness.rundir)}

    def op_server(self, args=(), host="127.0.0.1"):
        server = self.harness.server(*args, host=host)
        self.servers[server.name] = server
        return {"name": server.name, "port": server.port, "url": server.url}

    def op_server_inject(self, name, items):
        self.servers[name].inject(*map(from_json, items))

    def op_server_received(self, name):
        return [to_json(m) for m in self.servers[name].received()]

    def op_server_events(self, name, kind=None):
        return self.servers[name].events(kind)

    def op_server_kill(self, name):
        self.servers[name].kill()

    def op_server_terminate(self, name):
        self.servers[name].terminate()

    def op_server_restart(self, name):
        self.servers[name].restart()

    def op_daemon(self, sessions=None, extra="", env=None, args=(), start=True):
        daemon = self.harness.daemon(start=False, env=env)
        daemon.args = list(args)
        index = len(self.harness.daemons)
        self.configs[index] = self.config_text(sessions, extra)
        if start:
            daemon.start(self.configs[index])
        return {"index": index, "socket": str(daemon.socket),
                "config_dir": str(daemon.config_dir), "env": daemon.env}

    def op_daemon_start(self, index, wait=True):
        self.daemon_obj(index).start(self.configs[index], wait=wait)

    def op_daemon_stop(self, index):
        return self.daemon_obj(index).stop()

    def op_daemon_kill(self, index):
        daemon = self.daemon_obj(index)
        daemon.proc.kill()
        daemon.returncode = daemon.proc.wait()
        return daemon.returncode

    def op_daemon_ctl(self, index, args, input=None):
        r = self.daemon_obj(index).ctl(*args, input=input)
        return {"rc": r.returncode, "stdout": r.stdout, "stderr": r.stderr}

    def op_daemon_wait_state(self, index, name, states, timeout=5.0):
        return self.daemon_obj(index).wait_state(name, states, timeout=timeout * wsbtest.SLOW)

    def op_daemon_wait_log(self, index, pattern, count=1):
        return self.daemon_obj(index).wait_log(pattern, count=count)

    def op_readable_copy(self, sources, name="shared"):
        return str(self.harness.readable_copy(*(tuple(s) if isinstance(s, list) else s
                                                for s in sources), name=name))

    def op_logs(self):
        return "\n\n".join(f"==== {title}\n{text}" for title, text in self.harness.log_sections())

    def op_close(self):
        return self.harness.close()


def main():
    driver = Driver()
    out = sys.stdout
    sys.stdout = sys.stderr  # anything else printed goes to the test's log
    closed = False
    for line in sys.stdin:
        request = json.loads(line)
        op = request.pop("op")
        try:
            reply = {"ok": getattr(driver, f"op_{op}")(**request)}
        except Exception as e:  # noqa: BLE001 (the test sees every failure)
            reply = {"error": f"{op}: {e}\n{traceback.format_exc()}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()
        if op == "close":
            closed = True
            break
    if not closed:  # the test died: stop what it left running
        driver.harness.close()
    shutil.rmtree(driver.tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
