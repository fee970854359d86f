/* What one message shows (pure logic, no I/O): summary, body, icon, urgency
 * and the URL of its default action, from the JSON pointers the user gave,
 * with the raw text as the fallback. */
#pragma once

#include <glib.h>

#include "notify-pointer.h"

/* The values of libnotify's NotifyUrgency and of the "urgency" hint. */
typedef enum
{
  WSB_NOTIFY_URGENCY_LOW = 0,
  WSB_NOTIFY_URGENCY_NORMAL = 1,
  WSB_NOTIFY_URGENCY_CRITICAL = 2,
} WsbNotifyUrgency;

/* Longest URL taken for the default action, in bytes. */
#define WSB_NOTIFY_URL_MAX_BYTES 2048

typedef struct
{
  /* Each may be NULL (not given). */
  const WsbNotifyPointer *summary;
  const WsbNotifyPointer *body;
  const WsbNotifyPointer *icon;
  const WsbNotifyPointer *urgency;
  const WsbNotifyPointer *url;
  const char *default_summary; /* when the summary pointer names nothing */
  const char *default_icon;    /* --icon, or NULL */
} WsbNotifyFormat;

typedef struct
{
  char *summary; /* cleaned, single line, never empty */
  char *body;    /* cleaned plain text (not escaped), may be empty */
  char *icon;    /* NULL: none */
  WsbNotifyUrgency urgency;
  char *url; /* NULL: no default action */
} WsbNotifyContent;

void wsb_notify_content_free (WsbNotifyContent *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsbNotifyContent, wsb_notify_content_free)

/* The notification for one message (len bytes of data). Pointers apply to
 * text that is a JSON object or array; a pointer that names nothing falls
 * back: the summary to default_summary, the body to the raw text, the icon
 * to default_icon, the urgency to normal, the URL to none. A binary message
 * shows as "binary message (N bytes)". */
WsbNotifyContent *wsb_notify_format (const WsbNotifyFormat *f, const void *data, gsize len,
                                     gboolean binary);

/* "low", "normal", "critical" (any case) or "0", "1", "2". */
gboolean wsb_notify_urgency_parse (const char *text, WsbNotifyUrgency *urgency);

/* An icon a message may name: an icon theme name of 1-128 bytes of ASCII
 * letters, digits and "._+-", not starting with '.', so a feed cannot point
 * the notification server at a file. */
gboolean wsb_notify_icon_name_check (const char *name);

/* A URL the default action may open: http or https with a host, at most
 * WSB_NOTIFY_URL_MAX_BYTES, no white space or control characters. A feed
 * must not make a click open local files or other schemes' handlers. */
gboolean wsb_notify_url_check (const char *url);
