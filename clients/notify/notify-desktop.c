#include "notify-desktop.h"

#include <libnotify/notify.h>

#include "notify-burst.h"
#include "notify-launch.h"
#include "notify-text.h"

#define SERVER_NAME "org.freedesktop.Notifications"
/* The storm summary is updated in place at most this often. */
#define SUMMARY_UPDATE_US G_USEC_PER_SEC
/* Notifications kept alive so that a click on them still opens their URL;
 * older ones lose their action (servers seldom say when they are gone). */
#define MAX_LIVE_ACTIONS 32

typedef struct
{
  WsbNotifyContent *content; /* NULL for a gap */
  guint64 from_seq, to_seq;
} Pending;

struct _WsbNotifyDesktop
{
  GDBusConnection *bus;
  char *app_name;
  char *target;
  WsbNotifyServerFunc server_changed;
  gpointer data;

  guint watch_id;
  gboolean present;
  gboolean waiting_logged;
  char *owner;          /* the server's unique name */
  gboolean body_markup; /* the server reads markup in bodies */
  GQueue pending;       /* of Pending, while no server is there */

  WsbNotifyBurst *burst;
  guint summary_timer;
  guint tracked_storm;            /* the storm the two below are about */
  WsbNotifyUrgency storm_urgency; /* the highest of its messages */
  char *storm_latest;             /* the summary of its newest message */
  NotifyNotification *summary;    /* the storm's summary notification */
  guint summary_storm;
  NotifyNotification *gap;
  GQueue live; /* NotifyNotification with a URL action, oldest first */
};

static void
pending_free (Pending *p)
{
  wsb_notify_content_free (p->content);
  g_free (p);
}

static char *
body_text (WsbNotifyDesktop *d, const char *text)
{
  return d->body_markup ? wsb_notify_text_escape (text) : g_strdup (text);
}

/* Whether error says that no server owns the name (it went away before
 * the bus told us). */
static gboolean
server_gone (const GError *error)
{
  return g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN)
         || g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER);
}

static void set_absent (WsbNotifyDesktop *d);

/* notify_notification_show(); FALSE when the server is gone (the caller
 * keeps what it showed for the next server). Other failures are logged:
 * the notification is lost, but not silently. */
static gboolean
show (WsbNotifyDesktop *d, NotifyNotification *n, const char *what)
{
  g_autoptr (GError) error = NULL;

  if (notify_notification_show (n, &error))
    return TRUE;
  if (server_gone (error))
    {
      set_absent (d);
      return FALSE;
    }
  g_warning ("cannot show %s: %s", what, error->message);
  return TRUE;
}

static void
drop_live (WsbNotifyDesktop *d)
{
  NotifyNotification *n;

  while ((n = g_queue_pop_head (&d->live)))
    g_object_unref (n);
}

static void
on_closed (NotifyNotification *n, gpointer data)
{
  WsbNotifyDesktop *d = data;

  if (g_queue_remove (&d->live, n))
    g_object_unref (n);
}

static void
on_open (NotifyNotification *n, char *action, gpointer data)
{
  WsbNotifyDesktop *d = g_object_get_data (G_OBJECT (n), "wsb-desktop");

  wsb_notify_launch_uri (d->bus, data);
}

/* TRUE when shown (or lost with a warning); FALSE when the server is gone. */
static gboolean
show_single (WsbNotifyDesktop *d, const WsbNotifyContent *c)
{
  g_autofree char *body = body_text (d, c->body);
  NotifyNotification *n = notify_notification_new (c->summary, body, c->icon);
  gboolean shown;

  notify_notification_set_app_name (n, d->app_name);
  notify_notification_set_urgency (n, (NotifyUrgency) c->urgency);
  if (c->url)
    {
      g_object_set_data (G_OBJECT (n), "wsb-desktop", d);
      notify_notification_add_action (n, "default", "Open", on_open, g_strdup (c->url), g_free);
    }
  shown = show (d, n, "a notification");
  if (!shown || !c->url)
    {
      g_object_unref (n);
      return shown;
    }
  g_signal_connect (n, "closed", G_CALLBACK (on_closed), d);
  g_queue_push_tail (&d->live, n);
  if (d->live.length > MAX_LIVE_ACTIONS)
    g_object_unref (g_queue_pop_head (&d->live));
  return TRUE;
}

static void flush_summary (WsbNotifyDesktop *d);

static gboolean
on_summary_timer (gpointer data)
{
  WsbNotifyDesktop *d = data;

  d->summary_timer = 0;
  flush_summary (d);
  return G_SOURCE_REMOVE;
}

static void
show_summary (WsbNotifyDesktop *d)
{
  guint storm;
  guint64 count = wsb_notify_burst_summary_take (d->burst, g_get_monotonic_time (), &storm);
  g_autofree char *summary = NULL;
  g_autofree char *latest = NULL;
  g_autofree char *body = NULL;

  if (!d->summary || storm != d->summary_storm)
    {
      g_clear_object (&d->summary);
      d->summary = notify_notification_new ("", NULL, NULL);
      notify_notification_set_app_name (d->summary, d->app_name);
      d->summary_storm = storm;
    }
  summary = g_strdup_printf ("%" G_GUINT64_FORMAT " new message%s", count, count == 1 ? "" : "s");
  latest = g_strdup_printf ("%s, latest: %s", d->target, d->storm_latest ? d->storm_latest : "");
  body = body_text (d, latest);
  notify_notification_update (d->summary, summary, body, NULL);
  notify_notification_set_urgency (d->summary, (NotifyUrgency) d->storm_urgency);
  if (!show (d, d->summary, "the summary notification"))
    wsb_notify_burst_summary_unshown (d->burst); /* for the next server */
}

/* Shows the summary when it is due, or arms the timer for when it will be. */
static void
flush_summary (WsbNotifyDesktop *d)
{
  gint64 due = wsb_notify_burst_summary_due (d->burst);
  gint64 now = g_get_monotonic_time ();

  if (due < 0 || !d->present)
    return;
  if (due <= now)
    {
      /* Due at once, e.g. the final count of a storm that just ended. */
      if (d->summary_timer)
        g_source_remove (d->summary_timer);
      d->summary_timer = 0;
      show_summary (d);
    }
  else if (!d->summary_timer)
    d->summary_timer = g_timeout_add ((guint) ((due - now + 999) / 1000), on_summary_timer, d);
}

static void
count_into_storm (WsbNotifyDesktop *d, const WsbNotifyContent *c)
{
  guint storm = wsb_notify_burst_storm (d->burst);

  if (storm != d->tracked_storm)
    {
      d->tracked_storm = storm;
      d->storm_urgency = WSB_NOTIFY_URGENCY_LOW;
    }
  d->storm_urgency = MAX (d->storm_urgency, c->urgency);
  g_free (d->storm_latest);
  d->storm_latest = g_strdup (c->summary);
}

/* FALSE when the server is gone and c is still to be shown. */
static gboolean
offer (WsbNotifyDesktop *d, const WsbNotifyContent *c)
{
  gboolean single = wsb_notify_burst_admit (d->burst, g_get_monotonic_time ());

  if (!single)
    count_into_storm (d, c);
  /* A storm's final count goes before the message that ended it. */
  flush_summary (d);
  return !single || show_single (d, c);
}

static gboolean
show_gap (WsbNotifyDesktop *d, guint64 from_seq, guint64 to_seq)
{
  g_autofree char *text = NULL;
  g_autofree char *body = NULL;

  if (from_seq == to_seq)
    text = g_strdup_printf ("%s: the message with seq %" G_GUINT64_FORMAT " did not arrive",
                            d->target, from_seq);
  else
    text = g_strdup_printf ("%s: the messages with seq %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT
                            " did not arrive",
                            d->target, from_seq, to_seq);
  g_message ("%s", text);
  body = body_text (d, text);
  if (!d->gap)
    {
      d->gap = notify_notification_new ("", NULL, NULL);
      notify_notification_set_app_name (d->gap, d->app_name);
    }
  notify_notification_update (d->gap, "some messages were missed", body, NULL);
  return show (d, d->gap, "the missed-messages notification");
}

/* Shows what waited, in order, until done or the server is gone again. */
static void
flush_pending (WsbNotifyDesktop *d)
{
  Pending *p;

  while (d->present && (p = g_queue_peek_head (&d->pending)))
    {
      gboolean done = p->content ? offer (d, p->content) : show_gap (d, p->from_seq, p->to_seq);

      if (!done)
        break;
      pending_free (g_queue_pop_head (&d->pending));
    }
}

static void
queue (WsbNotifyDesktop *d, WsbNotifyContent *content, guint64 from_seq, guint64 to_seq)
{
  Pending *p = g_new0 (Pending, 1);

  p->content = content;
  p->from_seq = from_seq;
  p->to_seq = to_seq;
  g_queue_push_tail (&d->pending, p);
}

void
wsb_notify_desktop_show (WsbNotifyDesktop *d, WsbNotifyContent *content)
{
  if (d->present && g_queue_is_empty (&d->pending) && offer (d, content))
    wsb_notify_content_free (content);
  else
    queue (d, content, 0, 0);
}

void
wsb_notify_desktop_gap (WsbNotifyDesktop *d, guint64 from_seq, guint64 to_seq)
{
  if (!d->present || !g_queue_is_empty (&d->pending) || !show_gap (d, from_seq, to_seq))
    queue (d, NULL, from_seq, to_seq);
}

static void
set_absent (WsbNotifyDesktop *d)
{
  if (!d->present && d->waiting_logged)
    return;
  d->present = FALSE;
  if (d->summary_timer)
    g_source_remove (d->summary_timer);
  d->summary_timer = 0;
  if (!d->waiting_logged)
    g_message ("no notification server on the session bus; waiting for one");
  d->waiting_logged = TRUE;
  d->server_changed (FALSE, d->data);
}

static gboolean
has_markup (void)
{
  GList *caps = notify_get_server_caps ();
  gboolean markup = g_list_find_custom (caps, "body-markup", (GCompareFunc) g_strcmp0) != NULL;

  g_list_free_full (caps, g_free);
  return markup;
}

static void
on_appeared (GDBusConnection *bus, const char *name, const char *owner, gpointer data)
{
  WsbNotifyDesktop *d = data;

  if (g_strcmp0 (owner, d->owner) != 0)
    {
      /* Ids of the old server mean nothing to the new one. */
      g_clear_object (&d->summary);
      g_clear_object (&d->gap);
      drop_live (d);
      g_free (d->owner);
      d->owner = g_strdup (owner);
    }
  d->body_markup = has_markup ();
  d->present = TRUE;
  d->waiting_logged = FALSE;
  g_message ("notification server %s is there%s", owner,
             d->body_markup ? "" : " (no body markup: texts go unescaped)");
  flush_pending (d);
  flush_summary (d);
  if (d->present)
    d->server_changed (TRUE, d->data);
}

static void
on_vanished (GDBusConnection *bus, const char *name, gpointer data)
{
  set_absent (data);
}

WsbNotifyDesktop *
wsb_notify_desktop_new (GDBusConnection *bus, const char *app_name, const char *target, guint burst,
                        double window_s, WsbNotifyServerFunc server_changed, gpointer data)
{
  WsbNotifyDesktop *d = g_new0 (WsbNotifyDesktop, 1);

  d->bus = g_object_ref (bus);
  d->app_name = g_strdup (app_name);
  d->target = g_strdup (target);
  d->server_changed = server_changed;
  d->data = data;
  d->burst = wsb_notify_burst_new (burst, (gint64) (window_s * G_USEC_PER_SEC), SUMMARY_UPDATE_US);
  g_queue_init (&d->pending);
  g_queue_init (&d->live);
  d->watch_id = g_bus_watch_name_on_connection (
      bus, SERVER_NAME, G_BUS_NAME_WATCHER_FLAGS_AUTO_START, on_appeared, on_vanished, d, NULL);
  return d;
}

void
wsb_notify_desktop_free (WsbNotifyDesktop *d)
{
  if (!d)
    return;
  g_bus_unwatch_name (d->watch_id);
  if (d->summary_timer)
    g_source_remove (d->summary_timer);
  g_queue_clear_full (&d->pending, (GDestroyNotify) pending_free);
  drop_live (d);
  g_clear_object (&d->summary);
  g_clear_object (&d->gap);
  wsb_notify_burst_free (d->burst);
  g_free (d->storm_latest);
  g_free (d->owner);
  g_free (d->app_name);
  g_free (d->target);
  g_object_unref (d->bus);
  g_free (d);
}
