"""Helpers for the chaos tests, on top of wsbtest (tests/integration):

  LONG, scale()  the short form (make check) or the long one (WSB_CHAOS_LONG=1)
  Worker         a thread whose exception fails the test
  NetPair        two network namespaces joined by a veth pair, whose link can
                 be cut and whose packets can be dropped
  Tmpfs          a small tmpfs mount
"""

import itertools
import os
import subprocess
import threading

LONG = os.environ.get("WSB_CHAOS_LONG", "") not in ("", "0")


def scale(short, long):
    """SHORT in the short form, LONG with WSB_CHAOS_LONG=1."""
    return long if LONG else short


def run(*cmd):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, f"{' '.join(cmd)} exited {r.returncode}: {r.stderr.strip()}"
    return r.stdout


class Worker(threading.Thread):
    """A thread whose exception fails the test (see result())."""

    def __init__(self, target, name=None):
        super().__init__(daemon=True, name=name)
        self._target_fn = target
        self.error = None
        self.stop = threading.Event()

    def run(self):
        try:
            self._target_fn(self)
        except BaseException as e:  # noqa: BLE001 (re-raised in result())
            self.error = e

    def result(self, timeout):
        self.join(timeout)
        assert not self.is_alive(), f"{self.name} did not finish within {timeout} s"
        if self.error:
            raise self.error


_IDS = itertools.count(1)

# The only rules of the server side's packet filter: while "drop" is set,
# everything the server's namespace sends or receives is dropped. (The
# kernel here has no sch_netem, so nftables drops the packets, in the
# namespace only.)
NFT_RULESET = """\
table inet wsbchaos {
  chain input { type filter hook input priority 0; policy accept; }
  chain output { type filter hook output priority 0; policy accept; }
}
"""


class NetPair:
    """Network namespaces for the client (the daemon) and the server, joined
    by a veth pair, CLIENT_ADDR on one end and SERVER_ADDR on the other.
    Nothing else is in them (no route anywhere else), and nothing of them
    shows in the host's namespace, so tests in parallel never meet. Start a
    process in one with prefix("client") or prefix("server")."""

    CLIENT_ADDR, SERVER_ADDR = "198.18.0.1", "198.18.0.2"
    DEV = "wsb0"

    def __init__(self):
        tag = f"wsb-chaos-{os.getpid()}-{next(_IDS)}"
        self.ns = {"client": f"{tag}-c", "server": f"{tag}-s"}
        self.created = []
        for ns in self.ns.values():
            run("ip", "netns", "add", ns)
            self.created.append(ns)
        run("ip", "link", "add", self.DEV, "netns", self.ns["client"], "type", "veth", "peer",
            "name", self.DEV, "netns", self.ns["server"])
        for side, addr in (("client", self.CLIENT_ADDR), ("server", self.SERVER_ADDR)):
            self.ip(side, "addr", "add", f"{addr}/24", "dev", self.DEV)
            self.ip(side, "link", "set", self.DEV, "up")
            self.ip(side, "link", "set", "lo", "up")
        self.exec("server", "nft", "-f", "-", input=NFT_RULESET)

    def prefix(self, side):
        return ["ip", "netns", "exec", self.ns[side]]

    def ip(self, side, *args):
        return run("ip", "-n", self.ns[side], *args)

    def exec(self, side, *cmd, input=None):
        r = subprocess.run([*self.prefix(side), *cmd], input=input, capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 0, f"{' '.join(cmd)} in {side}: {r.stderr.strip()}"
        return r.stdout

    def cut(self):
        """Take the server's end of the link down (the client's loses carrier)."""
        self.ip("server", "link", "set", self.DEV, "down")

    def restore(self):
        self.ip("server", "link", "set", self.DEV, "up")

    def drop(self):
        """Drop every packet the server's namespace sends or receives: the
        server vanishes without a FIN or a reset, as behind a dead NAT."""
        for chain in ("input", "output"):
            self.exec("server", "nft", "add", "rule", "inet", "wsbchaos", chain, "drop")

    def undrop(self):
        for chain in ("input", "output"):
            self.exec("server", "nft", "flush", "chain", "inet", "wsbchaos", chain)

    def cleanup(self):
        for ns in self.created:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)


class Tmpfs:
    """A tmpfs of SIZE mounted at PATH (made here), mode 0700."""

    def __init__(self, path, size):
        self.path = path
        path.mkdir()
        run("mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "wsb-chaos", str(path))
        self.mounted = True

    def cleanup(self):
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.path)], capture_output=True, timeout=30)
            self.mounted = False
