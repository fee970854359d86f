/* What one message shows (pure logic, no I/O): whether it shows at all,
 * summary, body, icon, urgency, the URL of its default action and its link
 * buttons, from the JSON pointers the user (or a preset) gave, with the raw
 * text as the fallback. */
#pragma once

#include <glib.h>

#include "notify-pointer.h"
#include "notify-urgency.h"

/* Longest URL taken for the default action, in bytes. */
#define WSB_NOTIFY_URL_MAX_BYTES 2048
/* At most this many link buttons per notification (ntfy allows three). */
#define WSB_NOTIFY_MAX_ACTIONS 3
#define WSB_NOTIFY_LABEL_MAX_CHARS 40

typedef struct
{
  /* Each may be NULL (not given). */
  const WsbNotifyMatch *filter; /* only messages it matches show */
  const WsbNotifyPointer *summary;
  const WsbNotifyPointer *summary_fallback; /* when summary names nothing */
  const WsbNotifyPointer *body;
  const WsbNotifyPointer *icon;
  const WsbNotifyPointer *urgency;
  const WsbNotifyUrgencyMap *urgency_map; /* how urgency's values read */
  const WsbNotifyPointer *url;
  /* An array of ntfy actions: {"action": "view", "label": …, "url": …}. */
  const WsbNotifyPointer *actions;
  /* An array of ntfy tags: emoji short codes prefix the summary. */
  const WsbNotifyPointer *tags;
  const WsbNotifyMatch *markdown; /* the body is markdown when it matches */
  const char *default_summary;    /* when no pointer names a summary */
  const char *default_icon;       /* --icon, or NULL */
} WsbNotifyFormat;

typedef struct
{
  char *label; /* cleaned, single line */
  char *url;   /* passed wsb_notify_url_check() */
} WsbNotifyAction;

typedef struct
{
  char *summary; /* cleaned, single line, never empty */
  char *body;    /* cleaned plain text or markdown (not escaped), may be empty */
  gboolean markdown;
  char *icon; /* NULL: none */
  WsbNotifyUrgency urgency;
  char *url; /* NULL: no default action */
  WsbNotifyAction actions[WSB_NOTIFY_MAX_ACTIONS];
  guint n_actions;
} WsbNotifyContent;

void wsb_notify_content_free (WsbNotifyContent *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsbNotifyContent, wsb_notify_content_free)

/* The notification for one message (len bytes of data), or NULL when the
 * filter is given and does not match it (a keepalive, say; a message that is
 * no JSON object or array never matches). Pointers apply to text that is a
 * JSON object or array; a pointer that names nothing falls back: the summary
 * to summary_fallback, then default_summary, the body to the raw text, the
 * icon to default_icon, the urgency to normal, the URL to none. The urgency's
 * value goes through urgency_map when there is one (a value it does not map
 * is normal), else it is low, normal, critical, 0, 1 or 2. Emoji tags go
 * before the summary, the other tags on a last line of the body ("Tags: a,
 * b"). A binary message shows as "binary message (N bytes)". */
WsbNotifyContent *wsb_notify_format (const WsbNotifyFormat *f, const void *data, gsize len,
                                     gboolean binary);

/* An icon a message may name: an icon theme name of 1-128 bytes of ASCII
 * letters, digits and "._+-", not starting with '.', so a feed cannot point
 * the notification server at a file. */
gboolean wsb_notify_icon_name_check (const char *name);

/* A URL the default action may open: http or https with a host, at most
 * WSB_NOTIFY_URL_MAX_BYTES, no white space or control characters. A feed
 * must not make a click open local files or other schemes' handlers. */
gboolean wsb_notify_url_check (const char *url);
