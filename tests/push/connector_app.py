#!/usr/bin/python3
"""A test app with a UnifiedPush connector, written from the D-Bus
specification (DBUS_0.3.0) alone: it owns NAME on the session bus and
serves org.unifiedpush.Connector1 and org.unifiedpush.Connector2 at
/org/unifiedpush/Connector. Every call it gets is appended to LOG as one
JSON line: {"pid", "iface", "method", "token", "endpoint" | "message"
(base64) and "id"}; a Connector2 call whose arguments break the
specification is recorded with "invalid": true. It is started by D-Bus
activation (a .service file in the bus's service directory) or by a test.

  connector_app.py NAME LOG
"""

import base64
import json
import os
import sys

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

PATH = "/org/unifiedpush/Connector"
C1 = "org.unifiedpush.Connector1"
C2 = "org.unifiedpush.Connector2"
LOG = None


def record(iface, method, **fields):
    with open(LOG, "a") as f:
        f.write(json.dumps({"pid": os.getpid(), "iface": iface, "method": method, **fields})
                + "\n")


def v1_message(self, token, message, msg_id):
    record(C1, "Message", token=str(token), message=base64.b64encode(bytes(message)).decode(),
           id=str(msg_id))


def v1_new_endpoint(self, token, endpoint):
    record(C1, "NewEndpoint", token=str(token), endpoint=str(endpoint))


def v1_unregistered(self, token):
    record(C1, "Unregistered", token=str(token))


def v2(method, required):
    def call(self, args):
        fields, invalid = {}, False
        for key, value in args.items():
            if isinstance(value, (dbus.ByteArray, bytes)):
                fields[str(key)] = base64.b64encode(bytes(value)).decode()
            elif isinstance(value, dbus.String):
                fields[str(key)] = str(value)
            else:
                invalid = True
        if not required <= fields.keys():
            invalid = True
        record(C2, method, invalid=invalid, **fields)
        return dbus.Dictionary({}, signature="sv")
    return call


def method(iface, name, func, in_sig, out_sig):
    func.__name__ = name
    return dbus.service.method(iface, in_signature=in_sig, out_signature=out_sig,
                               byte_arrays=True)(func)


# dbus-python finds a method by its Python name, walking the classes of the
# object; a name of the wrong interface sends it on to the base class. So
# Connector1 lives in the base class and Connector2, same names, on top.
Connector1 = dbus.service.InterfaceType("Connector1", (dbus.service.Object,), {
    "Message": method(C1, "Message", v1_message, "says", ""),
    "NewEndpoint": method(C1, "NewEndpoint", v1_new_endpoint, "ss", ""),
    "Unregistered": method(C1, "Unregistered", v1_unregistered, "s", ""),
})
Connector = dbus.service.InterfaceType("Connector", (Connector1,), {
    "Message": method(C2, "Message", v2("Message", {"token", "message"}), "a{sv}", "a{sv}"),
    "NewEndpoint": method(C2, "NewEndpoint", v2("NewEndpoint", {"token", "endpoint"}),
                          "a{sv}", "a{sv}"),
    "Unregistered": method(C2, "Unregistered", v2("Unregistered", {"token"}), "a{sv}", "a{sv}"),
})


def main():
    global LOG
    name, LOG = sys.argv[1], sys.argv[2]
    DBusGMainLoop(set_as_default=True)
    bus = dbus.SessionBus()
    Connector(bus, PATH)
    owned = dbus.service.BusName(name, bus, do_not_queue=True)  # noqa: F841 (kept while running)
    with open(LOG, "a") as f:
        f.write(json.dumps({"pid": os.getpid(), "started": name}) + "\n")
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
