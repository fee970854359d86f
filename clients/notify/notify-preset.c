#include "notify-preset.h"

#include <string.h>

/* ntfy (https://docs.ntfy.sh/subscribe/api/#json-message-format), the
 * stream of wss://HOST/TOPIC/ws: every line is an object with "event" one of
 * "open", "keepalive", "message", "message_delete", "message_clear" or
 * "poll_request"; only "message" events are messages. "priority" is 1 (min)
 * to 5 (max), 3 when absent; "tags" are emoji short codes or words; "click"
 * is the URL a click opens; "actions" hold "view" buttons; "content_type"
 * "text/markdown" marks a markdown message. */
static const WsbNotifyPresetValue ntfy[] = {
  { "filter", "/event=message" },
  { "summary", "/title" },
  { "summary-fallback", "/topic" },
  { "body", "/message" },
  { "urgency-key", "/priority" },
  { "urgency-map", "1-2:low,3:normal,4-5:critical" },
  { "url-key", "/click" },
  { "actions-key", "/actions" },
  { "tags-key", "/tags" },
  { "markdown-when", "/content_type=text/markdown" },
  { NULL, NULL },
};

/* Gotify (https://gotify.net/docs/msgextras, the /stream WebSocket): every
 * frame is a message {"id", "appid", "message", "title", "priority",
 * "extras", "date"}; "priority" is 0-10 (the Android app treats 0-3 as low,
 * 4-7 normal, 8-10 high); extras "client::notification" {"click": {"url"}}
 * is the click URL, "client::display" {"contentType": "text/markdown"} marks
 * a markdown body. The server gives a message without a title its
 * application's name as the title. */
static const WsbNotifyPresetValue gotify[] = {
  { "summary", "/title" },
  { "body", "/message" },
  { "urgency-key", "/priority" },
  { "urgency-map", "0-3:low,4-7:normal,8-10:critical" },
  { "url-key", "/extras/client::notification/click/url" },
  { "markdown-when", "/extras/client::display/contentType=text/markdown" },
  { NULL, NULL },
};

static const struct
{
  const char *name;
  const WsbNotifyPresetValue *values;
} presets[] = {
  { "ntfy", ntfy },
  { "gotify", gotify },
};

const WsbNotifyPresetValue *
wsb_notify_preset_lookup (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (presets); i++)
    if (strcmp (presets[i].name, name) == 0)
      return presets[i].values;
  return NULL;
}

const char *
wsb_notify_preset_names (void)
{
  return "ntfy, gotify";
}
