"""The main loop never waits on a bus: the daemon asks the bus who a caller
is (GetConnectionCredentials) without blocking, so when the bus does not
answer, the socket API keeps answering at once.

A byte relay sits between the daemon and its system bus. Once it has handed
the daemon a ListSessions call, it holds everything else the bus sends the
daemon, so the daemon's question about that caller goes unanswered. A daemon
that asked synchronously would be stuck for GDBus's 25 s timeout."""

import os
import re
import socket
import threading
import time

from wsbtest import SLOW, ApiClient, session_conf, wait_for

BUS_NAME = "io.github.WsBridge1"


class HoldingRelay:
    """Listens at PATH, relays each connection to the bus socket BUS_PATH,
    and from the first bus→client chunk holding TRIGGER on, holds bus→client
    bytes (client→bus still flows)."""

    def __init__(self, path, bus_path, trigger):
        self.path, self.bus_path, self.trigger = path, bus_path, trigger
        self.holding = threading.Event()
        self.sockets = []
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(4)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            bus = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            bus.connect(self.bus_path)
            self.sockets += [client, bus]
            threading.Thread(target=self._pump, args=(client, bus, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(bus, client, True), daemon=True).start()

    def _pump(self, src, dst, to_client):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    return
                if to_client and self.holding.is_set():
                    continue  # held: the client never gets it
                dst.sendall(data)
                if to_client and self.trigger in data:
                    self.holding.set()
        except OSError:
            return

    def close(self):
        """Ends every relayed connection: the daemon sees its bus go (and
        need not wait for the bus's answers when it stops)."""
        self.listener.close()
        for s in self.sockets:
            s.shutdown(socket.SHUT_RDWR)
            s.close()


def test_dbus_caller_lookup_never_blocks_the_socket_api(wsb):
    bus = wsb.system_bus()
    bus_path = re.search(r"unix:path=([^,]+)", bus.address).group(1)
    relay_path = str(bus.sockdir / "relay")
    relay = HoldingRelay(relay_path, bus_path, b"ListSessions")
    try:
        daemon = wsb.daemon(start=False, env={"DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={relay_path}",
                                              "STATE_DIRECTORY": str(wsb.tmp / "state")})
        daemon.args = ["--system", "--bus", "system"]
        daemon.start(session_conf("s", "ws://127.0.0.1:9/", autoconnect="false"))
        conn = bus.connection()
        wait_for(lambda: conn.name_has_owner(BUS_NAME), 10 * SLOW, f"wsbridged to own {BUS_NAME}")

        # A caller the daemon does not know yet; its answer may never come.
        conn.call_async(BUS_NAME, "/io/github/WsBridge1", "io.github.WsBridge1.Manager",
                        "ListSessions", "", (), None, None)
        wait_for(relay.holding.is_set, 10 * SLOW, "the call to reach the daemon")
        time.sleep(0.2)  # the daemon has asked the bus about the caller by now

        api = ApiClient(daemon.socket)
        api.hello()
        slowest = 0.0
        for _ in range(20):
            start = time.monotonic()
            assert "s" in api.list_sessions()
            slowest = max(slowest, time.monotonic() - start)
        # 100 ms on an idle machine; valgrind and ASan get their factor.
        assert slowest < 0.1 * SLOW, f"the socket API took {slowest * 1000:.0f} ms to answer"
        api.close()
        relay.close()
        daemon.wait_log("lost the connection to the D-Bus system bus")
    finally:
        relay.listener.close()
        os.unlink(relay_path)
