/* The D-Bus frontend (DESIGN §4): the bus name io.github.WsBridge1, the
 * manager object /io/github/WsBridge1 and one object per session, serving
 * the interfaces of dbus/io.github.WsBridge1.xml over the hub, as
 * ipc-server.c serves the socket API. */
#pragma once

#include <gio/gio.h>

#include "config.h"
#include "hub.h"

typedef struct _WsbDBusServer WsbDBusServer;

/* system: the system instance, whose callers are checked per request
 * (access.c); a user instance serves only its own uid and root. */
WsbDBusServer *wsb_dbus_server_new (WsbHub *hub, const WsbDaemonConfig *cfg, gboolean system);

typedef enum
{
  WSB_DBUS_NAME_NOT_OWNED,
  WSB_DBUS_NAME_PENDING, /* asked for, no answer yet */
  WSB_DBUS_NAME_OWNED,
} WsbDBusNameState;

/* Connects to the bus, exports the objects and asks for the name, allowing
 * a later instance to replace us; with replace, takes it from a running
 * instance that allows it. Failing to connect or to get the name, or losing
 * the bus later, is logged: the daemon goes on serving the socket API. */
void wsb_dbus_server_start (WsbDBusServer *srv, GBusType bus_type, gboolean replace);

/* Serves the manager and one object per session on conn, asking for no
 * name: what start does once connected, and what tests/fuzz/fuzz-dbus.c
 * does on a peer-to-peer connection. bus_type says whose callers these are
 * (on the system bus each caller's uid is asked of the bus). The server
 * keeps a reference and closes conn when freed. */
gboolean wsb_dbus_server_serve (WsbDBusServer *srv, GDBusConnection *conn, GBusType bus_type,
                                GError **error);

/* Unexports everything and lets go of the connection without closing it
 * (the fuzz target's, reused from input to input); free closes it. */
void wsb_dbus_server_stop (WsbDBusServer *srv);

WsbDBusNameState wsb_dbus_server_get_name_state (WsbDBusServer *srv);

/* func runs when another instance takes the name from us (its --replace). */
void wsb_dbus_server_set_replaced_func (WsbDBusServer *srv, GSourceFunc func, gpointer data);

/* Exports an object (and emits SessionAdded) for every session of the hub
 * that has none yet: sessions made by the socket API or a reload. */
void wsb_dbus_server_sync (WsbDBusServer *srv);

void wsb_dbus_server_free (WsbDBusServer *srv);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsbDBusServer, wsb_dbus_server_free)
