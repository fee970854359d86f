#include "notify-desktop.h"

#include <libnotify/notify.h>
#include <string.h>

#include "notify-burst.h"
#include "notify-launch.h"
#include "notify-markdown.h"
#include "notify-text.h"

#define SERVER_NAME "org.freedesktop.Notifications"
/* While messages wait, the bus is asked to start a server this often. */
#define ACTIVATE_RETRY_S 10
/* How much of a message's body names it in a storm's summary. */
#define NAME_MAX_CHARS 60
/* The storm summary is updated in place at most this often. */
#define SUMMARY_UPDATE_US G_USEC_PER_SEC
/* Notifications kept alive so that a click on them still opens their URL;
 * older ones lose their action (servers seldom say when they are gone). */
#define MAX_LIVE_ACTIONS 32

typedef struct
{
  WsbNotifyContent *content; /* NULL for a gap, or a message not to show */
  gboolean gap;
  guint64 from_seq, to_seq;
  guint64 epoch, seq; /* the position once it is done */
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
  gboolean actions;     /* the server shows action buttons */
  GQueue pending;       /* of Pending, while no server is there */
  WsbNotifyPositionFunc position;
  gpointer position_data;
  GCancellable *activating;
  guint activate_timer;
  gboolean activation_logged;

  WsbNotifyBurst *burst;
  guint summary_timer;
  guint tracked_storm;            /* the storm the two below are about */
  WsbNotifyUrgency storm_urgency; /* the highest of its messages */
  char *storm_top;                /* the newest of those, by name */
  char *storm_latest;             /* the summary of its newest message */
  NotifyNotification *summary;    /* the storm's summary notification */
  guint summary_storm;
  NotifyNotification *gap;
  guint64 gap_count; /* messages missed since the notice was last closed */
  GQueue live;       /* NotifyNotification with a URL action, oldest first */
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

static char *
content_body (WsbNotifyDesktop *d, const WsbNotifyContent *c)
{
  return c->markdown ? wsb_notify_markdown_render (c->body, d->body_markup)
                     : body_text (d, c->body);
}

/* What every notification of ours carries. */
static void
decorate (WsbNotifyDesktop *d, NotifyNotification *n, const char *category)
{
  notify_notification_set_app_name (n, d->app_name);
  notify_notification_set_hint_string (n, "desktop-entry", WSB_NOTIFY_DESKTOP_ENTRY);
  notify_notification_set_category (n, category);
}

/* How a storm's summary names a message: its summary, or when that is only
 * the feed's name, the start of its body. */
static char *
message_name (WsbNotifyDesktop *d, const WsbNotifyContent *c)
{
  g_autofree char *line = NULL;

  if (g_strcmp0 (c->summary, d->target) != 0 || !*c->body)
    return g_strdup (c->summary);
  line = g_strndup (c->body, strcspn (c->body, "\n"));
  return wsb_notify_text_clean (line, -1, NAME_MAX_CHARS, FALSE);
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
  g_autofree char *body = content_body (d, c);
  NotifyNotification *n = notify_notification_new (c->summary, body, c->icon);
  gboolean shown;
  gboolean any_action = c->url || (d->actions && c->n_actions);

  decorate (d, n, WSB_NOTIFY_CATEGORY);
  notify_notification_set_urgency (n, (NotifyUrgency) c->urgency);
  if (any_action)
    g_object_set_data (G_OBJECT (n), "wsb-desktop", d);
  if (c->url)
    notify_notification_add_action (n, "default", "Open", on_open, g_strdup (c->url), g_free);
  /* Buttons only where the server draws them: elsewhere they would add
   * nothing but a menu some servers show instead. */
  for (guint i = 0; d->actions && i < c->n_actions; i++)
    {
      g_autofree char *key = g_strdup_printf ("view-%u", i);

      notify_notification_add_action (n, key, c->actions[i].label, on_open,
                                      g_strdup (c->actions[i].url), g_free);
    }
  shown = show (d, n, "a notification");
  if (!shown || !any_action)
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
      decorate (d, d->summary, WSB_NOTIFY_CATEGORY);
      d->summary_storm = storm;
    }
  /* The most urgent message first: a failure amid successes is what the
   * user must not miss. */
  summary = g_strdup_printf ("%" G_GUINT64_FORMAT " new message%s \u2014 %s", count,
                             count == 1 ? "" : "s", d->storm_top ? d->storm_top : "");
  latest = g_strdup_printf ("%s, latest: %s", d->target, d->storm_latest ? d->storm_latest : "");
  body = body_text (d, latest);
  notify_notification_update (d->summary, summary, body, WSB_NOTIFY_DEFAULT_ICON);
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
      g_clear_pointer (&d->storm_top, g_free);
    }
  if (!d->storm_top || c->urgency >= d->storm_urgency)
    {
      g_free (d->storm_top);
      d->storm_top = message_name (d, c);
    }
  d->storm_urgency = MAX (d->storm_urgency, c->urgency);
  g_free (d->storm_latest);
  d->storm_latest = message_name (d, c);
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

static void
on_gap_closed (NotifyNotification *n, gpointer data)
{
  WsbNotifyDesktop *d = data;

  /* The next gap starts a new count in a new notice. */
  if (n == d->gap)
    {
      g_clear_object (&d->gap);
      d->gap_count = 0;
    }
}

static gboolean
show_gap (WsbNotifyDesktop *d, guint64 from_seq, guint64 to_seq)
{
  guint64 missed = to_seq - from_seq + 1;
  g_autofree char *count = NULL;
  g_autofree char *text = NULL;
  g_autofree char *body = NULL;

  g_message ("%s: the messages with seq %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT
             " did not arrive",
             d->target, from_seq, to_seq);
  count = wsb_notify_text_count (d->gap_count + missed);
  text = g_strdup_printf ("%s: %s message%s missed", d->target, count,
                          d->gap_count + missed == 1 ? " was" : "s were");
  body = body_text (d, text);
  if (!d->gap)
    {
      d->gap = notify_notification_new ("", NULL, NULL);
      decorate (d, d->gap, WSB_NOTIFY_CATEGORY_MISSED);
      g_signal_connect (d->gap, "closed", G_CALLBACK (on_gap_closed), d);
    }
  notify_notification_update (d->gap, "some messages were missed", body, WSB_NOTIFY_DEFAULT_ICON);
  if (!show (d, d->gap, "the missed-messages notification"))
    return FALSE;
  d->gap_count += missed;
  return TRUE;
}

static void
done_with (WsbNotifyDesktop *d, guint64 epoch, guint64 seq)
{
  if (d->position && epoch)
    d->position (epoch, seq, d->position_data);
}

/* Shows what waited, in order, until done or the server is gone again. */
static void
flush_pending (WsbNotifyDesktop *d)
{
  Pending *p;

  while (d->present && (p = g_queue_peek_head (&d->pending)))
    {
      gboolean done = p->content ? offer (d, p->content)
                      : p->gap   ? show_gap (d, p->from_seq, p->to_seq)
                                 : TRUE;

      if (!done)
        break;
      done_with (d, p->epoch, p->seq);
      pending_free (g_queue_pop_head (&d->pending));
    }
}

static void activate (WsbNotifyDesktop *d);

static gboolean
on_activate_timer (gpointer data)
{
  WsbNotifyDesktop *d = data;

  d->activate_timer = 0;
  activate (d);
  return G_SOURCE_REMOVE;
}

static void
on_activated (GObject *source, GAsyncResult *res, gpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply
      = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &error);
  WsbNotifyDesktop *d;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  d = data;
  g_clear_object (&d->activating);
  if (reply)
    g_debug ("the bus started a notification server");
  else if (!d->activation_logged)
    g_message ("the bus cannot start a notification server (%s); waiting for one", error->message);
  else
    g_debug ("the bus cannot start a notification server: %s", error->message);
  d->activation_logged = !reply;
  /* The name's owner, when one comes, arrives through the watch. */
  if (!d->present && !g_queue_is_empty (&d->pending) && !d->activate_timer)
    d->activate_timer = g_timeout_add_seconds (ACTIVATE_RETRY_S, on_activate_timer, d);
}

/* Asks the bus to start the activatable notification server, if any. */
static void
activate (WsbNotifyDesktop *d)
{
  if (d->present || d->activating || g_queue_is_empty (&d->pending))
    return;
  d->activating = g_cancellable_new ();
  g_dbus_connection_call (d->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                          "org.freedesktop.DBus", "StartServiceByName",
                          g_variant_new ("(su)", SERVER_NAME, 0), G_VARIANT_TYPE ("(u)"),
                          G_DBUS_CALL_FLAGS_NONE, -1, d->activating, on_activated, d);
}

static void
queue (WsbNotifyDesktop *d, const Pending *what)
{
  Pending *p = g_memdup2 (what, sizeof *what);
  gboolean first = g_queue_is_empty (&d->pending);

  g_queue_push_tail (&d->pending, p);
  if (first && !d->present)
    {
      /* A message is due and no server shows it: read nothing more, and
       * have one started. */
      d->server_changed (FALSE, d->data);
      activate (d);
    }
}

void
wsb_notify_desktop_show (WsbNotifyDesktop *d, WsbNotifyContent *content, guint64 epoch, guint64 seq)
{
  if (d->present && g_queue_is_empty (&d->pending) && offer (d, content))
    {
      wsb_notify_content_free (content);
      done_with (d, epoch, seq);
    }
  else
    queue (d, &(Pending){ .content = content, .epoch = epoch, .seq = seq });
}

void
wsb_notify_desktop_skip (WsbNotifyDesktop *d, guint64 epoch, guint64 seq)
{
  if (g_queue_is_empty (&d->pending))
    done_with (d, epoch, seq);
  else
    g_queue_push_tail (&d->pending,
                       g_memdup2 (&(Pending){ .epoch = epoch, .seq = seq }, sizeof (Pending)));
}

void
wsb_notify_desktop_gap (WsbNotifyDesktop *d, guint64 from_seq, guint64 to_seq, guint64 epoch)
{
  if (d->present && g_queue_is_empty (&d->pending) && show_gap (d, from_seq, to_seq))
    done_with (d, epoch, to_seq);
  else
    queue (
        d,
        &(Pending){
            .gap = TRUE, .from_seq = from_seq, .to_seq = to_seq, .epoch = epoch, .seq = to_seq });
}

void
wsb_notify_desktop_set_position_func (WsbNotifyDesktop *d, WsbNotifyPositionFunc func,
                                      gpointer data)
{
  d->position = func;
  d->position_data = data;
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
  /* Reading goes on until a message is due (queue() stops it then). */
  if (!g_queue_is_empty (&d->pending))
    {
      d->server_changed (FALSE, d->data);
      activate (d);
    }
}

static gboolean
has_cap (GList *caps, const char *cap)
{
  return g_list_find_custom (caps, cap, (GCompareFunc) g_strcmp0) != NULL;
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
      d->gap_count = 0;
      drop_live (d);
      g_free (d->owner);
      d->owner = g_strdup (owner);
    }
  {
    GList *caps = notify_get_server_caps ();

    d->body_markup = has_cap (caps, "body-markup");
    d->actions = has_cap (caps, "actions");
    g_list_free_full (caps, g_free);
  }
  d->present = TRUE;
  d->waiting_logged = FALSE;
  d->activation_logged = FALSE;
  if (d->activate_timer)
    g_source_remove (d->activate_timer);
  d->activate_timer = 0;
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
  if (d->activate_timer)
    g_source_remove (d->activate_timer);
  if (d->activating)
    g_cancellable_cancel (d->activating);
  g_clear_object (&d->activating);
  g_queue_clear_full (&d->pending, (GDestroyNotify) pending_free);
  drop_live (d);
  g_clear_object (&d->summary);
  g_clear_object (&d->gap);
  wsb_notify_burst_free (d->burst);
  g_free (d->storm_latest);
  g_free (d->storm_top);
  g_free (d->owner);
  g_free (d->app_name);
  g_free (d->target);
  g_object_unref (d->bus);
  g_free (d);
}
