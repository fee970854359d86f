"""Machinery of the daemon benchmarks (run-bench) and of the bench-guard test.

Real processes only: feed-server (the upstream), the real wsbridged from the
build tree with its own config dir and socket, and client programs that
print "READY" once they can receive and then one JSON result line
(direct-client, wsb-subscriber, or any other that keeps that contract).

A throughput or latency scenario compares variants, each a (name, command)
pair; a command is a list of arguments, or a list of such lists for several
processes at once. Commands are templates: {url} is the direct feed's URL,
{socket} and {session} the daemon's, {bus} the address of its D-Bus (in
scenarios that have one), {count} the messages per burst,
{channel} the channel to subscribe to, {build} the build dir and {python}
Debian's /usr/bin/python3. A variant that names {url} is given its burst by
the direct feed, any other by the daemon's feed. The first variant is the
baseline: every other's rate is divided by the baseline's of the same round,
rounds alternate the variants, and the median of the per-round ratios is
reported.
"""

import json
import os
import pathlib
import platform
import queue
import re
import resource
import shutil
import signal
import statistics
import subprocess
import tempfile
import threading
import time

PYTHON = "/usr/bin/python3"
SOURCE_ROOT = pathlib.Path(__file__).resolve().parents[2]

# The clients of tests/bench, as command templates.
BENCH = "{build}/tests/bench"
DIRECT = [f"{BENCH}/direct-client", "--url", "{url}", "--count", "{count}"]
SUBSCRIBER = [f"{BENCH}/wsb-subscriber", "--socket", "{socket}", "--session", "{session}",
              "--channel", "{channel}", "--count", "{count}"]
DBUS_SUBSCRIBER = [f"{BENCH}/dbus-subscriber", "--address", "{bus}", "--session", "{session}",
                   "--channel", "{channel}", "--count", "{count}"]
RX_POLL = [f"{BENCH}/wsb-subscriber", "--socket", "{socket}", "--session", "{session}",
           "--count", "{count}", "--rx-poll-ms", "10"]

# What every benchmark session is: plain ws://, compression off (DESIGN §7).
SESSION = {"compression": "false"}


class BenchError(Exception):
    pass


def wait_for(predicate, timeout, what, procs=(), interval=0.02):
    """Poll predicate() until it returns something truthy, and return that;
    fail at once, with its log, when one of PROCS (Proc) exits meanwhile."""
    deadline = time.monotonic() + timeout
    value = None
    while not value:
        for p in procs:
            if p.proc.poll() is not None:
                raise BenchError(f"{p.name} exited with {p.proc.returncode} while waiting for "
                                 f"{what}{p.log_tail()}")
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout:.0f} s waiting for {what}")
        value = predicate()
        if not value:
            time.sleep(interval)
    return value


def raise_fd_limit():
    """Children inherit the raised soft limit (10 000 sessions need more than 1024)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def median(values):
    return statistics.median(values) if values else float("nan")


# ---------------------------------------------------------------- processes

class Proc:
    """A child whose stdout lines are read by a thread into a queue."""

    def __init__(self, argv, log_path, stdin=False, env=None, name=None):
        self.argv = [str(a) for a in argv]
        self.name = name or pathlib.Path(self.argv[0]).name
        self.log_path = log_path
        self.lines = queue.Queue()
        self.rusage = None
        self.returncode = None
        with open(log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=log, env=env, text=True, bufsize=1)
        self.pid = self.proc.pid
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def next_line(self, timeout, what="a line"):
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise BenchError(f"{self.name}: no {what} within {timeout:.0f} s"
                             f"{self.log_tail()}") from None
        if line is None:
            self.wait(5)
            raise BenchError(f"{self.name} exited ({self.returncode}) before {what}"
                             f"{self.log_tail()}")
        return line

    def expect(self, prefix, timeout):
        """Skip lines until one starts with PREFIX; return it."""
        deadline = time.monotonic() + timeout
        while True:
            line = self.next_line(max(0.1, deadline - time.monotonic()), f"'{prefix}' line")
            if line.startswith(prefix):
                return line

    def result(self, timeout):
        """The JSON result line."""
        line = self.expect("{", timeout)
        try:
            return json.loads(line)
        except json.JSONDecodeError as e:
            raise BenchError(f"{self.name}: bad result line {line!r}: {e}") from None

    def send(self, text):
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def close_stdin(self):
        if self.proc.stdin and not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()
            except BrokenPipeError:
                pass

    def wait(self, timeout):
        """Wait for the exit and keep the child's rusage (CPU time)."""
        deadline = time.monotonic() + timeout
        while self.returncode is None:
            try:
                pid, status, rusage = os.wait4(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped by Popen.poll()
                self.returncode = self.proc.returncode
                break
            if pid == self.pid:
                self.returncode = os.waitstatus_to_exitcode(status)
                self.rusage = rusage
                self.proc.returncode = self.returncode
                break
            if time.monotonic() > deadline:
                raise BenchError(f"{self.name} did not exit within {timeout:.0f} s")
            time.sleep(0.01)
        return self.returncode

    def cpu_seconds(self):
        return self.rusage.ru_utime + self.rusage.ru_stime if self.rusage else None

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.returncode is None:
            self.close_stdin()
            try:
                self.proc.send_signal(sig)
            except ProcessLookupError:
                pass
            try:
                self.wait(timeout)
            except BenchError:
                self.proc.kill()
                self.wait(timeout)
        return self.returncode

    def log_tail(self, n=15):
        try:
            lines = pathlib.Path(self.log_path).read_text(errors="replace").splitlines()[-n:]
        except FileNotFoundError:
            return ""
        return ("; its log ends:\n    " + "\n    ".join(lines)) if lines else ""


def proc_cpu_seconds(pid):
    """utime + stime of a running process, all threads (from /proc/PID/stat)."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss_kib(pid):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise BenchError(f"no VmRSS for pid {pid}")


def proc_context_switches(pid):
    """{thread id: voluntary + involuntary context switches} of every thread:
    each time a thread of an idle process wakes up, it switches in and out
    once."""
    counts = {}
    for task in pathlib.Path(f"/proc/{pid}/task").iterdir():
        try:
            text = (task / "status").read_text()
        except FileNotFoundError:
            continue  # a thread that just ended
        counts[task.name] = sum(int(line.split()[1]) for line in text.splitlines() if
                                line.startswith(("voluntary_ctxt_switches:",
                                                 "nonvoluntary_ctxt_switches:")))
    return counts


def context_switches_between(before, after):
    """Switches between two proc_context_switches snapshots: threads started
    in between count whole; those that ended in between are not seen (their
    last switches are lost, so this can only undercount)."""
    return sum(n - before.get(tid, 0) for tid, n in after.items())


# ---------------------------------------------------------------- feed and daemon

class Feed(Proc):
    """feed-server, controlled on its stdin."""

    def __init__(self, build, workdir, name, args, port=0):
        super().__init__([build / "tests/bench/feed-server", "--port", port, "--quiet", *args],
                         workdir / f"{name}.log", stdin=True, name=name)
        self.port = int(self.expect("PORT ", 10).split()[1])
        self.url = f"ws://127.0.0.1:{self.port}/"

    def command(self, cmd, reply, timeout=10):
        self.send(cmd)
        return self.expect(reply, timeout)

    def stats(self):
        line = self.command("stats", "STATS ")
        return {k: int(v) for k, v in (kv.split("=") for kv in line.split()[1:])}

    def attempts(self):
        """(bucket ms, accepted connections per bucket since the last drop)."""
        parts = self.command("attempts", "ATTEMPTS ").split()
        return int(parts[1]), [int(n) for n in parts[2:]]

    def quit(self):
        self.close_stdin()
        self.wait(10)


BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={dir}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
  <!-- The limits of Debian's /usr/share/dbus-1/session.conf. -->
  <limit name="max_incoming_bytes">1000000000</limit>
  <limit name="max_outgoing_bytes">1000000000</limit>
  <limit name="max_message_size">1000000000</limit>
</busconfig>
"""


class Bus(Proc):
    """A private dbus-daemon standing in for the session bus."""

    def __init__(self, workdir):
        workdir.mkdir(exist_ok=True)
        conf = workdir / "bus.conf"
        conf.write_text(BUS_CONFIG.format(dir=workdir))
        super().__init__(["dbus-daemon", f"--config-file={conf}", "--nofork", "--print-address=1"],
                         workdir / "dbus-daemon.log", name="dbus-daemon")
        self.address = self.expect("unix:", 10).strip()


def session_group(name, url, keys):
    lines = [f"[session {name}]", f"url={url}"] + [f"{k}={v}" for k, v in keys.items()]
    return "\n".join(lines) + "\n"


class Daemon:
    """The real wsbridged from the build tree, with a config of its own."""

    def __init__(self, build, workdir, name="daemon"):
        self.build = build
        self.dir = workdir / name
        self.config = self.dir / "config"
        self.config.mkdir(parents=True)
        (self.dir / "run").mkdir(mode=0o700)
        self.socket = self.dir / "run" / "wsbridge.sock"
        self.name = name
        self.proc = None
        self.env = {k: v for k, v in os.environ.items()
                    if not k.lower().endswith("_proxy") and k not in (
                        "DBUS_SESSION_BUS_ADDRESS", "NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID")}
        for var, sub in (("XDG_CONFIG_HOME", "xdg-config"), ("XDG_STATE_HOME", "xdg-state"),
                         ("HOME", "home")):
            (self.dir / sub).mkdir()
            self.env[var] = str(self.dir / sub)
        self.env["XDG_RUNTIME_DIR"] = str(self.dir / "run")
        self.env["DBUS_SYSTEM_BUS_ADDRESS"] = f"unix:path={self.dir}/no-system-bus"
        self.env["GSETTINGS_BACKEND"] = "memory"

    def start(self, sessions, daemon_keys=None, extra_args=(), env=None, timeout=120,
              wrapper=(), bus=None):
        """SESSIONS: {name: (url, {key: value})}. Waits up to TIMEOUT seconds
        until every session is open (0: does not wait, nor ask the daemon
        anything). WRAPPER: a command to run the daemon under (valgrind ...).
        BUS: a Bus to serve D-Bus on (else --bus none)."""
        text = ""
        if daemon_keys:
            text += "[daemon]\n" + "".join(f"{k}={v}\n" for k, v in daemon_keys.items())
        text += "".join(session_group(n, url, keys) for n, (url, keys) in sessions.items())
        (self.config / "wsbridge.conf").write_text(text)
        argv = [*wrapper, self.build / "daemon/wsbridged", "--config", self.config, "--socket",
                self.socket, "--bus", "session" if bus else "none", *extra_args]
        env = {**self.env, **(env or {})}
        if bus:
            env["DBUS_SESSION_BUS_ADDRESS"] = bus.address
        self.proc = Proc(argv, self.dir / "daemon.log", env=env, name=self.name)
        self.pid = self.proc.pid
        wait_for(self.socket.exists, 30, f"{self.name}'s socket", procs=[self.proc])
        if sessions and timeout:
            self.wait_open(len(sessions), timeout)
        return self

    def status(self):
        r = subprocess.run([self.build / "clients/wsbridgectl/wsbridgectl", "--socket",
                            self.socket, "status", "--json"], capture_output=True, text=True,
                           timeout=60)
        if r.returncode != 0:
            raise BenchError(f"wsbridgectl status: {r.stderr.strip()}")
        return json.loads(r.stdout)

    def wait_open(self, n, timeout):
        def all_open():
            try:
                return sum(s["state"] == "open" for s in self.status()) >= n
            except BenchError:
                return False  # not listening yet: the socket file comes first
        wait_for(all_open, timeout, f"{n} open sessions in {self.name}", procs=[self.proc],
                 interval=0.2)

    def stop(self, timeout=120):
        if self.proc:
            rc = self.proc.stop(signal.SIGTERM, timeout=timeout)
            if rc != 0:
                raise BenchError(f"{self.name} exited {rc} at SIGTERM{self.proc.log_tail()}")


# ---------------------------------------------------------------- the machine

def machine():
    def first(path, pattern):
        try:
            m = re.search(pattern, pathlib.Path(path).read_text(), re.M)
        except OSError:
            return None
        return m.group(1).strip() if m else None

    lws = subprocess.run(["pkg-config", "--modversion", "libwebsockets"], capture_output=True,
                         text=True).stdout.strip()
    return {
        "cores": os.cpu_count(),
        "cpu": first("/proc/cpuinfo", r"^model name\s*:\s*(.*)$") or platform.processor(),
        "kernel": platform.release(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "os": first("/etc/os-release", r'^PRETTY_NAME="?([^"\n]*)"?$'),
        "libwebsockets": lws.rstrip("-"),
        "load": os.getloadavg(),
    }


# ---------------------------------------------------------------- running clients

def expand(template, values):
    return [str(a).format(**values) for a in template]


def commands_of(command):
    """A variant's command as a list of argument lists."""
    return command if command and isinstance(command[0], (list, tuple)) else [command]


def uses_direct_feed(command):
    return any("{url}" in str(a) for cmd in commands_of(command) for a in cmd)


class Run:
    """One variant, once: start its processes, wait for READY, burst, results."""

    def __init__(self, name, command, values, workdir, timeout, env=None, wrapper=()):
        self.name = name
        self.procs = []
        for i, cmd in enumerate(commands_of(command)):
            argv = [*wrapper, *expand(cmd, values)]
            self.procs.append(Proc(argv, workdir / f"client-{name.replace(' ', '_')}-{i}.log",
                                   env=env, name=f"{name}[{i}]" if i else name))
        self.timeout = timeout

    def wait_ready(self):
        for p in self.procs:
            p.expect("READY", 60)

    def results(self):
        out = []
        try:
            for p in self.procs:
                r = p.result(self.timeout)
                p.wait(30)
                r["cpu_s"] = p.cpu_seconds()
                if r.get("error") or not r.get("complete"):
                    raise BenchError(f"{p.name}: {r.get('error', 'incomplete')}: {r}")
                out.append(r)
        finally:
            self.cleanup()
        return out

    def cleanup(self):
        for p in self.procs:
            p.stop(signal.SIGKILL, timeout=10)


def summarize(results):
    """One variant run's numbers; several processes give the slowest and the sum."""
    first = min(r["first_ns"] for r in results)
    last = max(r["last_ns"] for r in results)
    messages = sum(r["messages"] for r in results)
    out = {
        "rate": min(r["rate"] for r in results),
        "aggregate": (messages - 1) * 1e9 / (last - first) if last > first else 0.0,
        "messages": messages,
        "lost": sum(r.get("lost", 0) for r in results),
        "processes": len(results),
        "client_cpu_s": sum(r["cpu_s"] or 0 for r in results),
    }
    lat = [r["latency_us"] for r in results if "latency_us" in r]
    if lat:
        # Several processes: the worst of each percentile.
        out["latency_us"] = {k: max(x[k] for x in lat) for k in lat[0] if k != "n"}
    return out


# ---------------------------------------------------------------- comparisons

class Setup:
    """Two feeds alike (one for direct clients, one upstream of the daemon) and
    a daemon with one session on the latter."""

    def __init__(self, build, workdir, feed_args, session_keys, daemon_keys=None, session="bench",
                 daemon_env=None, wrapper=(), dbus=False):
        self.build, self.workdir = build, workdir
        self.session = session
        self.bus = None
        self.direct_feed = Feed(build, workdir, "feed-direct", feed_args)
        self.daemon_feed = Feed(build, workdir, "feed-daemon", feed_args)
        self.daemon = Daemon(build, workdir)
        try:
            self.bus = Bus(workdir / "bus") if dbus else None
            self.daemon.start({session: (self.daemon_feed.url, session_keys)}, daemon_keys,
                              env=daemon_env, wrapper=wrapper, timeout=120 * (10 if wrapper else 1),
                              bus=self.bus)
        except BaseException:
            self.close()
            raise

    def values(self, count, channel="*"):
        return {"url": self.direct_feed.url, "socket": str(self.daemon.socket),
                "session": self.session, "count": count, "channel": channel,
                "build": str(self.build), "python": PYTHON,
                "bus": self.bus.address if self.bus else ""}

    def close(self):
        for f in (self.direct_feed, self.daemon_feed):
            f.quit()
        try:
            self.daemon.stop()
        finally:
            if self.bus:
                self.bus.stop()


def compare(setup, variants, count, rounds, channel="*", extra=None, timeout=120, log=print):
    """Alternates the variants ROUNDS times; returns per variant the list of
    per-round summaries (with the CPU time per message of the daemon, its
    bus if any, and the clients) and the per-round ratios of the rates to
    the first variant's. EXTRA: more template values."""
    values = {**setup.values(count, channel), **(extra or {})}
    watched = {"daemon": setup.daemon.pid, **({"bus": setup.bus.pid} if setup.bus else {})}
    per_variant = {name: [] for name, _ in variants}
    ratios = {name: [] for name, _ in variants[1:]}
    for rnd in range(rounds):
        base_rate = None
        for name, command in variants:
            feed = setup.direct_feed if uses_direct_feed(command) else setup.daemon_feed
            run = Run(name, command, values, setup.workdir, timeout)
            try:
                run.wait_ready()
                cpu0 = {k: proc_cpu_seconds(pid) for k, pid in watched.items()}
                n_before = feed.stats()["tx_messages"]
                feed.command(f"burst {count}", "BURST ")
                results = run.results()
                cpu = {k: proc_cpu_seconds(pid) - cpu0[k] for k, pid in watched.items()}
            finally:
                run.cleanup()
            sent = feed.stats()["tx_messages"] - n_before
            s = summarize(results)
            s["daemon_cpu_us_per_msg"] = cpu["daemon"] * 1e6 / sent if sent else None
            s["cpu_us_per_msg"] = {k: v * 1e6 / sent for k, v in cpu.items()} if sent else {}
            s["cpu_us_per_msg"]["clients"] = s["client_cpu_s"] * 1e6 / sent if sent else None
            per_variant[name].append(s)
            if base_rate is None:
                base_rate = s["rate"]
            else:
                ratios[name].append(s["rate"] / base_rate)
            log(f"    round {rnd + 1}/{rounds} {name:<28} {s['rate']:>11,.0f} msg/s"
                + (f" (aggregate {s['aggregate']:,.0f})" if s["processes"] > 1 else "")
                + (f" lost {s['lost']}" if s["lost"] else "")
                + (f" p50 {s['latency_us']['p50']:.0f} p99 {s['latency_us']['p99']:.0f} µs"
                   if "latency_us" in s else ""))
    return per_variant, ratios


class Workdir:
    """A temp dir removed at exit unless kept."""

    def __init__(self, keep=False):
        self.path = pathlib.Path(tempfile.mkdtemp(prefix="wsb-bench-"))
        self.keep = keep

    def sub(self, name):
        p = self.path / name
        p.mkdir()
        return p

    def cleanup(self):
        if not self.keep:
            shutil.rmtree(self.path, ignore_errors=True)
