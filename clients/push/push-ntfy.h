/* ntfy as the push server of wsbridge-push (pure logic, no I/O): topic names,
 * endpoint and stream URLs, and the JSON events of ntfy's WebSocket stream
 * (https://docs.ntfy.sh/subscribe/api/: "open", "keepalive", "message", …;
 * a message published with up=1 whose body is not UTF-8 arrives base64
 * encoded with "encoding": "base64"). */
#pragma once

#include <glib.h>

/* ntfy's UnifiedPush topics: "up" and 12 letters or digits (ntfy applies
 * its UnifiedPush rate limits to names of this shape). */
#define WSB_PUSH_TOPIC_LEN 14

typedef enum
{
  WSB_PUSH_EVENT_OTHER,   /* open, keepalive, poll_request, … */
  WSB_PUSH_EVENT_MESSAGE, /* a message: topic, id, data set */
} WsbPushEventKind;

typedef struct
{
  WsbPushEventKind kind;
  char *id;
  char *topic;
  GBytes *data; /* the published body, exactly */
} WsbPushEvent;

void wsb_push_event_clear (WsbPushEvent *ev);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (WsbPushEvent, wsb_push_event_clear)

/* A new unguessable topic (71 bits from getrandom). */
char *wsb_push_topic_new (void);
/* TRUE for a name wsb_push_topic_new() could have made. */
gboolean wsb_push_topic_valid (const char *topic);

/* BASE (http[s]://host[:port][/path], no query) checked and without a
 * trailing slash; the error names what is wrong. */
char *wsb_push_server_normalize (const char *base, GError **error);

/* BASE/TOPIC?up=1: what the app's server POSTs to. */
char *wsb_push_endpoint (const char *base, const char *topic);

/* ws[s]://host/T1,T2,…/ws, with ?since=SINCE when SINCE is non-NULL. */
char *wsb_push_stream_url (const char *base, const char *const *topics, const char *since);

/* One text frame of the stream. FALSE (error set) for what is not an ntfy
 * event: not JSON, no "event", a message without a valid id or topic, a
 * bad base64 body. */
gboolean wsb_push_event_parse (const char *text, gsize len, WsbPushEvent *ev, GError **error);
