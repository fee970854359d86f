/* The bytes of D-Bus signals that GDBus has queued and not yet written to
 * the bus, and the flushes that prove them written. */
#include "dbus-server-private.h"

/* GDBus queues each signal until its worker thread has written it to the
 * bus, without limit, so a bus that stops reading (a stalled dbus-daemon)
 * would grow the daemon by every message. The bytes of the signals sent
 * are counted, a flush is asked for every FLUSH_EVERY of them, and what a
 * finished flush proves written comes off: with more than
 * client_buffer_bytes unwritten, D-Bus subscribers lose messages, each
 * subscription's run of them told by one Gap signal before its next message
 * or once the bus has caught up, as a slow socket client's are. */
#define FLUSH_EVERY (64 * 1024)
/* What a signal costs besides its arguments: GDBus's message and blob. */
#define SIGNAL_OVERHEAD 512

struct _FlushWait
{
  WsbDBusServer *srv; /* NULL once the connection went */
  guint64 mark;       /* sent_bytes when the flush was asked for */
};

guint64
wsb_dbus_backlog (WsbDBusServer *srv)
{
  return srv->sent_bytes - srv->written_bytes;
}

gboolean
wsb_dbus_backlog_congested (WsbDBusServer *srv)
{
  return wsb_dbus_backlog (srv) > srv->cfg.client_buffer_bytes;
}

static void maybe_flush (WsbDBusServer *srv);

static void
on_flushed (GObject *source, GAsyncResult *res, gpointer data)
{
  struct _FlushWait *w = data;
  WsbDBusServer *srv = w->srv;
  guint64 mark = w->mark;

  /* An error means the connection is closing: drop_bus follows. */
  g_dbus_connection_flush_finish (G_DBUS_CONNECTION (source), res, NULL);
  g_free (w);
  if (!srv)
    return;
  srv->flush = NULL;
  srv->written_bytes = MAX (srv->written_bytes, mark);
  if (!wsb_dbus_backlog_congested (srv))
    {
      if (srv->lost)
        g_message ("D-Bus: the bus has caught up; D-Bus subscribers lost %" G_GUINT64_FORMAT
                   " message%s meanwhile (told by Gap signals)",
                   srv->lost, srv->lost == 1 ? "" : "s");
      srv->lost = 0;
      wsb_dbus_send_held_gaps (srv);
    }
  maybe_flush (srv);
}

static void
maybe_flush (WsbDBusServer *srv)
{
  if (srv->flush || !srv->conn || wsb_dbus_backlog (srv) < FLUSH_EVERY)
    return;
  srv->flush = g_new (struct _FlushWait, 1);
  srv->flush->srv = srv;
  srv->flush->mark = srv->sent_bytes;
  g_dbus_connection_flush (srv->conn, NULL, on_flushed, srv->flush);
}

void
wsb_dbus_backlog_sent (WsbDBusServer *srv, gsize bytes)
{
  srv->sent_bytes += bytes + SIGNAL_OVERHEAD;
  maybe_flush (srv);
}

void
wsb_dbus_backlog_reset (WsbDBusServer *srv)
{
  if (srv->flush)
    srv->flush->srv = NULL;
  srv->flush = NULL;
  srv->sent_bytes = srv->written_bytes = 0;
  srv->lost = 0;
}
