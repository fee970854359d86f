"""Runs a list of operations as whoever runs it, over the socket API or
D-Bus, and prints the outcomes as one JSON list: "ok", "hidden" (list: the
session is not among those listed) or "CODE: message". Standalone (no
harness import): test_access_table.py copies it with wsbridge_pb2.py into a
directory another uid can read and runs it there.

    access_table_client.py socket SOCKET_PATH OPS_JSON
    access_table_client.py dbus BUS_ADDRESS OPS_JSON

OPS_JSON: [[op, session, options]], op one of list, get, subscribe, send,
connect, disconnect, remove, create (options: {key: text} for create).

subscribe asks for the session's shared-memory ring over the socket API
(its file descriptors must come to those allowed, and only to them) and
for batched signals over D-Bus (SubscribeWithOptions must answer as
Subscribe does)."""

import json
import os
import socket
import sys

BUS_NAME = "io.github.WsBridge1"
MANAGER = "/io/github/WsBridge1"
DBUS_CODES = {"NotFound": "NOT_FOUND", "AccessDenied": "ACCESS_DENIED",
              "LimitExceeded": "LIMIT_EXCEEDED", "InvalidArgument": "INVALID_ARGUMENT",
              "AlreadyExists": "ALREADY_EXISTS", "Failed": "INTERNAL"}


def session_path(name):
    return MANAGER + "/session/" + "".join(
        c if c.isascii() and c.isalnum() else f"_{ord(c):02x}" for c in name)


class Socket:
    def __init__(self, path):
        import wsbridge_pb2 as pb
        self.pb = pb
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(20)
        self.sock.connect(path)
        self.buf = b""
        self.next_id = 1
        self.fds = 0  # file descriptors received with any frame
        self.frame(pb.ClientFrame(hello=pb.Hello(api_major=1, client_name="access-table",
                                                 ring_version=1)))
        assert self.read().WhichOneof("frame") == "hello"

    def frame(self, f):
        body = f.SerializeToString()
        n, prefix = len(body), b""
        while True:
            prefix += bytes([(n & 0x7F) | (0x80 if n > 0x7F else 0)])
            n >>= 7
            if not n:
                break
        self.sock.sendall(prefix + body)

    def read(self):
        while True:
            n, shift = 0, 0
            for i, b in enumerate(self.buf):
                n |= (b & 0x7F) << shift
                shift += 7
                if not b & 0x80:
                    if len(self.buf) >= i + 1 + n:
                        f = self.pb.ServerFrame()
                        f.ParseFromString(self.buf[i + 1:i + 1 + n])
                        self.buf = self.buf[i + 1 + n:]
                        return f
                    break
            chunk, fds, _, _ = socket.recv_fds(self.sock, 65536, 8)
            assert chunk, "EOF"
            for fd in fds:
                os.close(fd)
            self.fds += len(fds)
            self.buf += chunk

    def request(self, **op):
        rid, self.next_id = self.next_id, self.next_id + 1
        self.frame(self.pb.ClientFrame(request=self.pb.Request(id=rid, **op)))
        while True:
            f = self.read()
            if f.WhichOneof("frame") == "reply" and f.reply.id == rid:
                r = f.reply
                if r.WhichOneof("result") == "error":
                    return (f"{self.pb.ErrorCode.Name(r.error.code).removeprefix('ERROR_CODE_')}: "
                            f"{r.error.message}"), r
                return "ok", r

    def subscribe_ring(self, name):
        """Subscribes asking for the ring: "ok" once its RingStart brought
        the ring's two file descriptors; any descriptor that comes with a
        refusal is named in the answer."""
        before = self.fds
        answer, _ = self.request(subscribe=self.pb.SubscribeRequest(session=name, channel="*",
                                                                    ring=True))
        if answer == "ok":
            while True:
                f = self.read()
                if f.WhichOneof("frame") == "event" and f.event.WhichOneof("event") == "ring":
                    break
        if answer == "ok" and self.fds - before != 2:
            return f"ok, but {self.fds - before} ring file descriptors"
        if answer != "ok" and self.fds != before:
            return f"{answer} (with {self.fds - before} file descriptors)"
        return answer

    def run(self, op, name, options):
        pb = self.pb
        if op == "list":
            _, r = self.request(list_sessions=pb.ListSessionsRequest())
            return "ok" if any(s.name == name for s in r.list_sessions.sessions) else "hidden"
        if op == "get":
            return self.request(get_session=pb.GetSessionRequest(session=name))[0]
        if op == "subscribe":
            return self.subscribe_ring(name)
        if op == "send":
            return self.request(send=pb.SendRequest(session=name, data=b"x"))[0]
        if op == "connect":
            return self.request(connect=pb.ConnectRequest(session=name))[0]
        if op == "disconnect":
            return self.request(disconnect=pb.DisconnectRequest(session=name))[0]
        if op == "remove":
            return self.request(remove_session=pb.RemoveSessionRequest(session=name))[0]
        if op == "create":
            return self.request(create_session=pb.CreateSessionRequest(
                name=name, url="ws://127.0.0.1:9/",
                options=[pb.SessionOption(key=k, value=v) for k, v in options.items()]))[0]
        raise ValueError(op)


class Bus:
    def __init__(self, address):
        import dbus
        self.dbus = dbus
        self.conn = dbus.bus.BusConnection(address)

    def call(self, path, iface, method, *args):
        try:
            self.conn.get_object(BUS_NAME, path, introspect=False).get_dbus_method(
                method, iface)(*args, timeout=20)
            return "ok"
        except self.dbus.exceptions.DBusException as e:
            name = e.get_dbus_name().rsplit(".", 1)[1]
            return f"{DBUS_CODES.get(name, name)}: {e.get_dbus_message()}"

    def run(self, op, name, options):
        dbus, path = self.dbus, session_path(name)
        manager = "io.github.WsBridge1.Manager"
        sess = "io.github.WsBridge1.Session"
        if op == "list":
            paths = self.conn.get_object(BUS_NAME, MANAGER, introspect=False).get_dbus_method(
                "ListSessions", manager)()
            return "ok" if path in [str(p) for p in paths] else "hidden"
        if op == "get":
            return self.call(MANAGER, manager, "GetSession", name)
        if op == "subscribe":
            plain = self.call(path, sess, "Subscribe", "*", dbus.UInt64(0), dbus.UInt64(0))
            batched = self.call(path, sess, "SubscribeWithOptions", "batched", dbus.UInt64(0),
                                dbus.UInt64(0), dbus.Dictionary({"batch": True}, signature="sv"))
            return plain if plain == batched else f"Subscribe: {plain}; batched: {batched}"
        if op == "send":
            return self.call(path, sess, "Send", "x")
        if op == "connect":
            return self.call(path, sess, "Connect")
        if op == "disconnect":
            return self.call(path, sess, "Disconnect")
        if op == "remove":
            return self.call(MANAGER, manager, "RemoveSession", name)
        if op == "create":
            return self.call(MANAGER, manager, "CreateSession", name, "ws://127.0.0.1:9/",
                             dbus.Dictionary(options, signature="sv"))
        raise ValueError(op)


def main():
    frontend, where, ops = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    client = Socket(where) if frontend == "socket" else Bus(where)
    print(json.dumps([client.run(op, name, options) for op, name, options in ops]))


if __name__ == "__main__":
    main()
