/* wsbridge-dbus-watch: print the messages of a wsbridged session, over
 * D-Bus with plain libdbus (no GLib), as an example for programs that do
 * not want GLib.
 *
 *   wsbridge-dbus-watch [--system] SESSION [CHANNEL]
 *
 * Subscribes to CHANNEL (default "*", every message) of SESSION and prints
 * each Message signal as "CHANNEL<TAB>SEQ<TAB>TEXT", one line each, flushed.
 * Exits 0 on SIGINT or SIGTERM, 1 on a D-Bus error (its name on stderr)
 * or when wsbridged leaves the bus, 2 on bad usage. */
#include <dbus/dbus.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define BUS_NAME "io.github.WsBridge1"
#define MANAGER_PATH "/io/github/WsBridge1"
#define MANAGER_IFACE "io.github.WsBridge1.Manager"
#define SESSION_IFACE "io.github.WsBridge1.Session"
/* How long the loop blocks before it looks at the signal flag again. */
#define POLL_MS 200

static volatile sig_atomic_t stop;
static int daemon_gone;

static void
on_signal (int sig)
{
  (void) sig;
  stop = 1;
}

/* Says what went wrong and frees err. */
static int
fail (DBusError *err)
{
  fprintf (stderr, "wsbridge-dbus-watch: %s: %s\n", err->name, err->message);
  dbus_error_free (err);
  return 1;
}

/* Calls a method that takes the given arguments; returns its reply or NULL
 * with err set. */
static DBusMessage *
call (DBusConnection *conn, const char *path, const char *iface, const char *method, DBusError *err,
      int first_type, ...)
{
  DBusMessage *msg = dbus_message_new_method_call (BUS_NAME, path, iface, method);
  DBusMessage *reply;
  va_list args;

  if (!msg)
    {
      dbus_set_error_const (err, DBUS_ERROR_NO_MEMORY, "out of memory");
      return NULL;
    }
  va_start (args, first_type);
  if (!dbus_message_append_args_valist (msg, first_type, args))
    dbus_set_error_const (err, DBUS_ERROR_NO_MEMORY, "out of memory");
  va_end (args);
  reply
      = dbus_error_is_set (err)
            ? NULL
            : dbus_connection_send_with_reply_and_block (conn, msg, DBUS_TIMEOUT_USE_DEFAULT, err);
  dbus_message_unref (msg);
  return reply;
}

/* Message(s channel, t seq, x time_usec, s text), sent to us alone, and
 * the bus's NameOwnerChanged of the daemon's name. */
static DBusHandlerResult
on_message (DBusConnection *conn, DBusMessage *msg, void *data)
{
  const char *session_path = data;
  const char *channel, *text, *name, *old_owner, *new_owner;
  dbus_uint64_t seq;
  dbus_int64_t time_usec;

  (void) conn;
  if (dbus_message_is_signal (msg, DBUS_INTERFACE_DBUS, "NameOwnerChanged")
      && dbus_message_get_args (msg, NULL, DBUS_TYPE_STRING, &name, DBUS_TYPE_STRING, &old_owner,
                                DBUS_TYPE_STRING, &new_owner, DBUS_TYPE_INVALID)
      && strcmp (name, BUS_NAME) == 0 && new_owner[0] == '\0')
    {
      daemon_gone = 1;
      return DBUS_HANDLER_RESULT_HANDLED;
    }
  if (!dbus_message_is_signal (msg, SESSION_IFACE, "Message")
      || !dbus_message_has_path (msg, session_path))
    return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
  if (dbus_message_get_args (msg, NULL, DBUS_TYPE_STRING, &channel, DBUS_TYPE_UINT64, &seq,
                             DBUS_TYPE_INT64, &time_usec, DBUS_TYPE_STRING, &text,
                             DBUS_TYPE_INVALID))
    {
      printf ("%s\t%" PRIu64 "\t%s\n", channel, (uint64_t) seq, text);
      fflush (stdout);
    }
  return DBUS_HANDLER_RESULT_HANDLED;
}

/* Subscribes and prints until a signal or an error (err set, returns 1). */
static int
run (DBusConnection *conn, const char *session, const char *channel, DBusError *err)
{
  DBusMessage *session_reply, *reply;
  const char *path;
  dbus_uint64_t zero = 0;
  int status = 0;

  dbus_connection_set_exit_on_disconnect (conn, FALSE);

  /* Our subscription ends with our connection; tell when the daemon's does. */
  dbus_bus_add_match (conn,
                      "type='signal',sender='" DBUS_SERVICE_DBUS "',member='NameOwnerChanged',"
                      "arg0='" BUS_NAME "'",
                      err);
  if (dbus_error_is_set (err))
    return 1;

  /* path points into session_reply, kept to the end. */
  session_reply = call (conn, MANAGER_PATH, MANAGER_IFACE, "GetSession", err, DBUS_TYPE_STRING,
                        &session, DBUS_TYPE_INVALID);
  if (!session_reply)
    return 1;
  if (!dbus_message_get_args (session_reply, err, DBUS_TYPE_OBJECT_PATH, &path, DBUS_TYPE_INVALID))
    {
      dbus_message_unref (session_reply);
      return 1;
    }
  /* Signals that come while we wait for the reply are queued for the loop. */
  dbus_connection_add_filter (conn, on_message, (void *) path, NULL);
  reply = call (conn, path, SESSION_IFACE, "Subscribe", err, DBUS_TYPE_STRING, &channel,
                DBUS_TYPE_UINT64, &zero, DBUS_TYPE_UINT64, &zero, DBUS_TYPE_INVALID);
  if (reply)
    {
      dbus_message_unref (reply);
      fprintf (stderr, "wsbridge-dbus-watch: watching %s, channel %s\n", session, channel);
    }
  else
    status = 1;
  while (!status && !stop)
    {
      if (!dbus_connection_read_write_dispatch (conn, POLL_MS))
        dbus_set_error_const (err, DBUS_ERROR_DISCONNECTED, "lost the connection to the bus");
      else if (daemon_gone)
        dbus_set_error_const (err, DBUS_ERROR_NAME_HAS_NO_OWNER, "wsbridged left the bus");
      status = dbus_error_is_set (err) ? 1 : 0;
    }
  dbus_connection_remove_filter (conn, on_message, (void *) path);
  dbus_message_unref (session_reply);
  return status;
}

int
main (int argc, char **argv)
{
  DBusBusType bus_type = DBUS_BUS_SESSION;
  const char *session, *channel = "*";
  DBusConnection *conn;
  DBusError err;
  struct sigaction sa = { .sa_handler = on_signal };
  int i = 1, status;

  if (i < argc && strcmp (argv[i], "--system") == 0)
    {
      bus_type = DBUS_BUS_SYSTEM;
      i++;
    }
  if (argc - i < 1 || argc - i > 2 || argv[i][0] == '-')
    {
      fprintf (stderr, "usage: wsbridge-dbus-watch [--system] SESSION [CHANNEL]\n");
      return 2;
    }
  session = argv[i];
  if (argc - i == 2)
    channel = argv[i + 1];

  sigaction (SIGINT, &sa, NULL);
  sigaction (SIGTERM, &sa, NULL);
  dbus_error_init (&err);
  conn = dbus_bus_get_private (bus_type, &err);
  if (!conn)
    return fail (&err);
  status = run (conn, session, channel, &err);
  if (status)
    fail (&err);
  dbus_connection_close (conn);
  dbus_connection_unref (conn);
  return status;
}
