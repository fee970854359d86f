/* Fuzz target: channel routing and upstream frames, what a hostile feed or
 * configuration controls. The input is a channel_key pointer, a NUL, then
 * a message: the pointer is checked and compiled, the message routed, and
 * the channel it gives (or the input's own bytes) checked as a channel name
 * and filled into a subscribe template. Findings: a crash, a sanitizer
 * report, a leak, a pointer accepted by one check and refused by the other,
 * a routed channel that is not a valid channel name, a filled template that
 * is not valid UTF-8 or JSON-escapes badly. */
#include <stdint.h>
#include <string.h>

#include "router.h"
#include "template.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define TMPL "{\"op\":\"subscribe\",\"channel\":\"{channel}\"}"

static void
fill (const char *channel)
{
  g_autofree char *frame = wsb_template_fill (TMPL, channel);

  g_assert_true (g_utf8_validate (frame, -1, NULL));
  g_assert_true (g_str_has_prefix (frame, "{\"op\":\"subscribe\",\"channel\":\""));
  g_assert_true (g_str_has_suffix (frame, "\"}"));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const uint8_t *nul = memchr (data, 0, size);
  g_autofree char *pointer = NULL;
  g_autoptr (GError) e1 = NULL;
  g_autoptr (GError) e2 = NULL;
  g_autoptr (WsbRouter) router = NULL;
  const char *msg;
  gsize msg_len;

  if (!nul)
    return 0;
  pointer = g_strndup ((const char *) data, nul - data);
  msg = (const char *) nul + 1;
  msg_len = size - (nul - data) - 1;
  router = wsb_router_new (pointer, &e1);
  g_assert_true (!router == !wsb_json_pointer_check (pointer, &e2));
  g_assert_true (router || (e1 && e2));
  if (router)
    {
      g_autofree char *channel = wsb_router_route (router, msg, msg_len);
      if (channel)
        {
          g_assert_true (wsb_channel_name_check (channel, strlen (channel), NULL));
          fill (channel);
        }
    }
  if (wsb_channel_name_check (msg, msg_len, NULL))
    {
      g_autofree char *channel = g_strndup (msg, msg_len);
      fill (channel);
    }
  return 0;
}
