/* Fuzz target: D-Bus method calls into the daemon's D-Bus frontend
 * (dbus-*.c), the arguments it reads itself: CreateSession's name, URL and
 * options, session names, Send and SendBinary's data, Subscribe's (and
 * SubscribeWithOptions') channel, resume point and options, Unsubscribe,
 * property reads. Per input a fresh hub
 * (sessions "demo" and "b", autoconnect off) is served over a peer-to-peer
 * GDBus connection on a socketpair, as wsbridged serves the bus: the target
 * is the caller on the other end, and the bus too (it answers the daemon's
 * GetNameOwner and GetConnectionCredentials about callers).
 *
 * The input: byte 0 picks the instance (bit 0 set: the system instance,
 * whose callers are uid 1000, which the configuration lets use session
 * demo, not b, and create sessions); then calls, each a byte (its low 4
 * bits pick the method mod the table below, bits 4-5 the session object,
 * bit 6 one of two callers; one entry is no call but the bus telling that
 * the caller left), two bytes of length (little-endian) and that
 * many bytes: the arguments, a serialised GVariant of the method's
 * signature read as GLib reads untrusted data (any bytes give a value of
 * the type). GDBus checks signatures before the daemon sees a call, so a
 * call of another signature would test GLib, not us.
 *
 * Findings: a crash, a sanitizer report, a leak, a critical, a call without
 * a reply; an error that is not one of the daemon's named errors. */
#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dbus-server.h"
#include "fuzz-daemon.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define CALLER_UID 1000
#define MANAGER_PATH "/io/github/WsBridge1"
#define MANAGER_IFACE "io.github.WsBridge1.Manager"
#define SESSION_IFACE "io.github.WsBridge1.Session"
#define PROPS_IFACE "org.freedesktop.DBus.Properties"
/* A call not answered within this many seconds counts as stuck. */
#define REPLY_SECONDS 5

typedef struct
{
  const char *iface;
  const char *method;
  const char *signature;
  gboolean on_session; /* called on a session object, not the manager */
} Method;

static const Method methods[] = {
  { MANAGER_IFACE, "ListSessions", "()", FALSE },
  { MANAGER_IFACE, "GetSession", "(s)", FALSE },
  { MANAGER_IFACE, "CreateSession", "(ssa{sv})", FALSE },
  { MANAGER_IFACE, "RemoveSession", "(s)", FALSE },
  { SESSION_IFACE, "Connect", "()", TRUE },
  { SESSION_IFACE, "Disconnect", "()", TRUE },
  { SESSION_IFACE, "Send", "(s)", TRUE },
  { SESSION_IFACE, "SendBinary", "(ay)", TRUE },
  { SESSION_IFACE, "Subscribe", "(stt)", TRUE },
  { SESSION_IFACE, "Unsubscribe", "(s)", TRUE },
  { PROPS_IFACE, "Get", "(ss)", TRUE },
  { PROPS_IFACE, "GetAll", "(s)", TRUE },
  /* Not a call: the bus says the caller left (NameOwnerChanged). */
  { NULL, "NameOwnerChanged", "()", FALSE },
  { SESSION_IFACE, "SubscribeWithOptions", "(stta{sv})", TRUE },
};

static const Method ping = { "org.freedesktop.DBus.Peer", "Ping", "()", FALSE };

/* The session objects a call may go to: the configured two, and the one a
 * CreateSession named "n" makes. */
static const char *const session_paths[]
    = { MANAGER_PATH "/session/demo", MANAGER_PATH "/session/b", MANAGER_PATH "/session/n",
        MANAGER_PATH "/session/demo" };

static const char *const callers[] = { ":1.1", ":1.2" };

/* The bus: what the daemon asks it about its callers, answered in GDBus's
 * worker thread (a filter), so that it answers whatever the main thread
 * is doing. */
static GDBusMessage *
bus_filter (GDBusConnection *conn, GDBusMessage *msg, gboolean incoming, gpointer data)
{
  g_autoptr (GDBusMessage) reply = NULL;
  GVariant *body = g_dbus_message_get_body (msg);
  const char *member = g_dbus_message_get_member (msg);
  const char *name = "";

  if (!incoming || g_dbus_message_get_message_type (msg) != G_DBUS_MESSAGE_TYPE_METHOD_CALL
      || g_strcmp0 (g_dbus_message_get_destination (msg), "org.freedesktop.DBus") != 0)
    return msg;
  if (body && g_variant_is_of_type (body, G_VARIANT_TYPE ("(s)")))
    g_variant_get (body, "(&s)", &name);
  reply = g_dbus_message_new_method_reply (msg);
  if (g_strcmp0 (member, "Hello") == 0)
    g_dbus_message_set_body (reply, g_variant_new ("(s)", ":1.0"));
  else if (g_strcmp0 (member, "GetNameOwner") == 0)
    g_dbus_message_set_body (reply, g_variant_new ("(s)", name));
  else if (g_strcmp0 (member, "GetConnectionCredentials") == 0)
    {
      GVariantBuilder creds;

      g_variant_builder_init (&creds, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&creds, "{sv}", "UnixUserID", g_variant_new_uint32 (CALLER_UID));
      g_variant_builder_add (&creds, "{sv}", "ProcessID", g_variant_new_uint32 (1));
      g_dbus_message_set_body (reply, g_variant_new ("(a{sv})", &creds));
    }
  g_dbus_connection_send_message (conn, reply, G_DBUS_SEND_MESSAGE_FLAGS_NONE, NULL, NULL);
  g_object_unref (msg);
  return NULL;
}

typedef struct
{
  GDBusConnection *conn;
  GError *error;
  gboolean done;
} NewConn;

static void
on_new_conn (GObject *source, GAsyncResult *res, gpointer data)
{
  NewConn *nc = data;

  nc->conn = g_dbus_connection_new_finish (res, &nc->error);
  nc->done = TRUE;
}

static GIOStream *
stream_from_fd (int fd)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocket) sock = g_socket_new_from_fd (fd, &error);

  if (!sock)
    g_error ("socket: %s", error->message);
  return G_IO_STREAM (g_socket_connection_factory_create_connection (sock));
}

/* The daemon's end and the other end of one connection on which the target
 * plays the bus: the daemon's end is a message bus connection (it says
 * Hello, watches its callers' names), the other end answers it with
 * bus_filter, added before it processes any message. */
static void
connection_pair (GDBusConnection **daemon_end, GDBusConnection **bus_end)
{
  g_autoptr (GIOStream) a = NULL;
  g_autoptr (GIOStream) b = NULL;
  g_autofree char *guid = g_dbus_generate_guid ();
  NewConn bus = { 0 }, daemon = { 0 };
  gboolean started = FALSE;
  int sv[2];

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    g_error ("socketpair: %m");
  a = stream_from_fd (sv[0]);
  b = stream_from_fd (sv[1]);
  g_dbus_connection_new (a, guid,
                         G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_SERVER
                             | G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_ALLOW_ANONYMOUS
                             | G_DBUS_CONNECTION_FLAGS_DELAY_MESSAGE_PROCESSING,
                         NULL, NULL, on_new_conn, &bus);
  g_dbus_connection_new (b, NULL,
                         G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
                             | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                         NULL, NULL, on_new_conn, &daemon);
  while (!bus.done || !daemon.done)
    {
      g_main_context_iteration (NULL, TRUE);
      if (bus.conn && !started)
        {
          g_dbus_connection_add_filter (bus.conn, bus_filter, NULL, NULL);
          g_dbus_connection_start_message_processing (bus.conn);
          started = TRUE;
        }
      if (bus.done && !bus.conn)
        break;
    }
  if (!bus.conn || !daemon.conn)
    g_error ("D-Bus connection pair: %s", (bus.error ? bus.error : daemon.error)->message);
  *daemon_end = daemon.conn;
  *bus_end = bus.conn;
}

typedef struct
{
  gboolean done;
  gboolean stuck;
} Call;

static void
on_reply (GObject *source, GAsyncResult *res, gpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusMessage) reply
      = g_dbus_connection_send_message_with_reply_finish (G_DBUS_CONNECTION (source), res, &error);
  Call *call = data;

  call->done = TRUE;
  if (!reply)
    return; /* the arguments do not fit D-Bus (a maybe type in a variant): never sent */
  if (g_dbus_message_get_message_type (reply) == G_DBUS_MESSAGE_TYPE_ERROR)
    {
      const char *name = g_dbus_message_get_error_name (reply);

      /* The daemon's own errors, and GDBus's for what it checks itself. */
      if (!g_str_has_prefix (name, "io.github.WsBridge1.Error.")
          && !g_str_has_prefix (name, "org.freedesktop.DBus.Error."))
        {
          fprintf (stderr, "fuzz-dbus: a reply with error %s\n", name);
          abort ();
        }
    }
}

static gboolean
on_stuck (gpointer data)
{
  ((Call *) data)->stuck = TRUE;
  return G_SOURCE_REMOVE;
}

/* The bus tells the daemon that caller left. */
static void
caller_leaves (GDBusConnection *conn, const char *caller)
{
  g_autoptr (GDBusMessage) msg = g_dbus_message_new_signal (
      "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameOwnerChanged");

  g_dbus_message_set_body (msg, g_variant_new ("(sss)", caller, caller, ""));
  g_dbus_message_set_sender (msg, "org.freedesktop.DBus");
  g_dbus_connection_send_message (conn, msg, G_DBUS_SEND_MESSAGE_FLAGS_NONE, NULL, NULL);
}

/* The call, over the connection: its reply is waited for. */
static void
call_over_bus (GDBusConnection *conn, const Method *m, const char *path, const char *caller,
               GVariant *body)
{
  g_autoptr (GDBusMessage) msg = g_dbus_message_new_method_call (NULL, path, m->iface, m->method);
  Call result = { FALSE, FALSE };
  guint timer;

  g_dbus_message_set_body (msg, body);
  g_dbus_message_set_sender (msg, caller);
  timer = g_timeout_add_seconds (REPLY_SECONDS, on_stuck, &result);
  g_dbus_connection_send_message_with_reply (conn, msg, G_DBUS_SEND_MESSAGE_FLAGS_NONE, -1, NULL,
                                             NULL, on_reply, &result);
  while (!result.done && !result.stuck)
    g_main_context_iteration (NULL, TRUE);
  if (!result.done)
    {
      fprintf (stderr, "fuzz-dbus: no reply to %s.%s on %s within %d s\n", m->iface, m->method,
               path, REPLY_SECONDS);
      abort ();
    }
  if (!result.stuck)
    g_source_remove (timer);
}

static void
call (GDBusConnection *conn, guint8 selector, const guint8 *args, gsize len)
{
  const Method *m = &methods[(selector & 0x0f) % G_N_ELEMENTS (methods)];
  const char *path = m->on_session ? session_paths[(selector >> 4) & 3] : MANAGER_PATH;
  const char *caller = callers[(selector >> 6) & 1];
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (GVariant) raw = NULL;
  g_autoptr (GVariant) body = NULL;

  if (!m->iface)
    {
      /* Then a call, whose reply comes after the daemon took the signal in:
       * the next input's daemon never sees this one's signal. */
      caller_leaves (conn, caller);
      call_over_bus (conn, &methods[0], MANAGER_PATH, callers[0], NULL);
      return;
    }
  bytes = g_bytes_new (args, len);
  raw = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE (m->signature), bytes, FALSE));
  body = g_variant_get_normal_form (raw);
  call_over_bus (conn, m, path, caller, body);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  /* One connection for the process: a new one per input would cost more
   * than most inputs (the authentication and Hello, two threads' hops). */
  static GDBusConnection *daemon_end, *caller_end;
  FuzzDaemon *fd = fuzz_daemon_get ();
  g_autoptr (GError) error = NULL;
  gboolean system = size && (data[0] & 1);
  WsbDBusServer *srv;
  WsbHub *hub;
  size_t pos = 1;

  if (!daemon_end)
    connection_pair (&daemon_end, &caller_end);
  hub = fuzz_daemon_hub_new (fd);
  srv = wsb_dbus_server_new (hub, &fd->cfg->daemon, system);
  if (!wsb_dbus_server_serve (srv, daemon_end, system ? G_BUS_TYPE_SYSTEM : G_BUS_TYPE_SESSION,
                              &error))
    g_error ("serving: %s", error->message);

  while (pos + 3 <= size)
    {
      guint8 selector = data[pos];
      gsize len = MIN ((gsize) data[pos + 1] | (gsize) data[pos + 2] << 8, size - pos - 3);

      call (caller_end, selector, data + pos + 3, len);
      pos += 3 + len;
    }

  /* The order of main.c: frontends first, then the hub. The connection
   * stays for the next input. */
  wsb_dbus_server_stop (srv);
  wsb_dbus_server_free (srv);
  fuzz_daemon_hub_free (fd, hub);
  /* A ping, answered after everything the daemon sent before it reached
   * this end: less of this input is left in flight in GDBus's threads when
   * it ends, so that its allocations and frees balance more often (when
   * they do not, libFuzzer runs the input again and a leak check). */
  call_over_bus (caller_end, &ping, "/", callers[0], NULL);
  return 0;
}
