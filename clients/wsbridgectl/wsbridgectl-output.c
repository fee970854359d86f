/* Output shared by the commands that print messages (watch, history):
 * human lines or JSON lines with the keys of DESIGN §4. */
#include "wsbridgectl.h"

#include <stdio.h>
#include <string.h>

/* Bytes of a binary message shown in human output. */
#define HEX_PREVIEW 32

/* "demo" for the catch-all channel, else "demo/channel". */
char *
wsbctl_label (const char *session, const char *channel)
{
  if (!channel || !*channel || g_str_equal (channel, "*"))
    return g_utf8_make_valid (session, -1);
  g_autofree char *raw = g_strdup_printf ("%s/%s", session, channel);
  return g_utf8_make_valid (raw, -1);
}

void
wsbctl_json_begin_line (JsonBuilder *b, const char *session, const char *channel, guint64 seq,
                        guint64 epoch, gint64 time_us, const char *type)
{
  json_builder_begin_object (b);
  wsbctl_json_add_string (b, "session", session);
  wsbctl_json_add_string (b, "channel", channel);
  wsbctl_json_add_int (b, "seq", (gint64) seq);
  wsbctl_json_add_int (b, "epoch", (gint64) epoch);
  wsbctl_json_add_int (b, "time_us", time_us);
  wsbctl_json_add_string (b, "type", type);
}

void
wsbctl_json_end_line (JsonBuilder *b)
{
  json_builder_end_object (b);
  wsbctl_json_print (b, FALSE);
}

void
wsbctl_print_message (gboolean json, const Wsbridge__V1__Message *m)
{
  if (json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();

      wsbctl_json_begin_line (b, m->session, m->channel, m->seq, m->epoch, m->time_us,
                              m->binary ? "binary" : "text");
      if (m->binary)
        {
          g_autofree char *b64 = g_base64_encode (m->data.data, m->data.len);

          json_builder_set_member_name (b, "data_b64");
          json_builder_add_string_value (b, b64);
        }
      else
        {
          g_autofree char *text
              = g_utf8_make_valid ((const char *) m->data.data, (gssize) m->data.len);

          json_builder_set_member_name (b, "data");
          json_builder_add_string_value (b, text);
        }
      wsbctl_json_end_line (b);
      return;
    }

  g_autofree char *who = wsbctl_label (m->session, m->channel);

  if (m->binary)
    {
      GString *hex = g_string_new (NULL);

      for (size_t i = 0; i < m->data.len && i < HEX_PREVIEW; i++)
        g_string_append_printf (hex, "%02x", m->data.data[i]);
      if (m->data.len > HEX_PREVIEW)
        g_string_append (hex, "…");
      printf ("%s #%" G_GUINT64_FORMAT " binary (%zu bytes): %s\n", who, m->seq, m->data.len,
              hex->str);
      g_string_free (hex, TRUE);
    }
  else
    {
      g_autofree char *text = wsbctl_printable (m->data.data, (gssize) m->data.len);

      printf ("%s #%" G_GUINT64_FORMAT " text: %s\n", who, m->seq, text);
    }
  fflush (stdout);
}

void
wsbctl_print_gap (gboolean json, const Wsbridge__V1__Gap *g)
{
  guint64 missed = g->to_seq >= g->from_seq ? g->to_seq - g->from_seq + 1 : 0;

  if (json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();

      /* seq: where the stream continues from, as for a resume with --since. */
      wsbctl_json_begin_line (b, g->session, g->channel, g->to_seq, g->epoch, g_get_real_time (),
                              "gap");
      wsbctl_json_add_int (b, "from", (gint64) g->from_seq);
      wsbctl_json_add_int (b, "to", (gint64) g->to_seq);
      wsbctl_json_end_line (b);
      return;
    }

  g_autofree char *who = wsbctl_label (g->session, g->channel);

  printf ("%s #%" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT " gap: %" G_GUINT64_FORMAT
          " message%s missed\n",
          who, g->from_seq, g->to_seq, missed, missed == 1 ? "" : "s");
  fflush (stdout);
}

/* Splits NAME[/CHANNEL] at the first '/'; NAME alone means channel "*". */
gboolean
wsbctl_parse_target (WsbctlContext *ctx, const char *arg, char **session, char **channel)
{
  const char *slash = strchr (arg, '/');

  *session = slash ? g_strndup (arg, (gsize) (slash - arg)) : g_strdup (arg);
  *channel = g_strdup (slash && slash[1] ? slash + 1 : "*");
  if (**session)
    return TRUE;
  g_clear_pointer (session, g_free);
  g_clear_pointer (channel, g_free);
  wsbctl_usage_error (ctx, "missing session name in '%s'", arg);
  return FALSE;
}
