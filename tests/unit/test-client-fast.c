/* Unit tests of clients/libwsbridge/client-fast.c: message events decoded
 * by hand agree with protobuf-c on everything it accepts, and anything
 * unexpected is left to protobuf-c. */
#include <glib.h>
#include <string.h>

#include "client-fast.h"
#include "wsbridge.pb-c.h"

static GByteArray *
pack_event (const Wsbridge__V1__Message *m, guint64 sub_id)
{
  Wsbridge__V1__ServerFrame f = WSBRIDGE__V1__SERVER_FRAME__INIT;
  Wsbridge__V1__Event ev = WSBRIDGE__V1__EVENT__INIT;
  GByteArray *out = g_byte_array_new ();

  ev.subscription_id = sub_id;
  ev.event_case = WSBRIDGE__V1__EVENT__EVENT_MESSAGE;
  ev.message = (Wsbridge__V1__Message *) m;
  f.frame_case = WSBRIDGE__V1__SERVER_FRAME__FRAME_EVENT;
  f.event = &ev;
  g_byte_array_set_size (out, (guint) wsbridge__v1__server_frame__get_packed_size (&f));
  wsbridge__v1__server_frame__pack (&f, out->data);
  return out;
}

/* The fast decoder and protobuf-c give the same event. */
static void
assert_agrees (const guint8 *body, gsize len)
{
  WsbcFastMessage fm;
  Wsbridge__V1__ServerFrame *f = wsbridge__v1__server_frame__unpack (NULL, len, body);
  const Wsbridge__V1__Message *m;

  g_assert_true (wsbc_fast_decode_message_event (body, len, &fm));
  g_assert_nonnull (f);
  g_assert_cmpint (f->frame_case, ==, WSBRIDGE__V1__SERVER_FRAME__FRAME_EVENT);
  g_assert_cmpint (f->event->event_case, ==, WSBRIDGE__V1__EVENT__EVENT_MESSAGE);
  m = f->event->message;
  g_assert_cmpuint (fm.subscription_id, ==, f->event->subscription_id);
  g_assert_cmpmem (fm.session, fm.session_len, m->session, strlen (m->session));
  g_assert_cmpmem (fm.channel, fm.channel_len, m->channel, strlen (m->channel));
  g_assert_cmpuint (fm.seq, ==, m->seq);
  g_assert_cmpuint (fm.epoch, ==, m->epoch);
  g_assert_cmpint (fm.time_us, ==, m->time_us);
  g_assert_cmpint (fm.binary, ==, m->binary);
  g_assert_cmpmem (fm.data, fm.data_len, m->data.data, m->data.len);
  wsbridge__v1__server_frame__free_unpacked (f, NULL);
}

static void
test_agrees_with_protobuf_c (void)
{
  GRand *r = g_rand_new_with_seed (7);

  for (guint i = 0; i < 2000; i++)
    {
      Wsbridge__V1__Message m = WSBRIDGE__V1__MESSAGE__INIT;
      g_autofree char *session = g_strdup_printf ("s%u", g_rand_int_range (r, 0, 1000));
      g_autofree char *channel
          = g_rand_boolean (r) ? g_strdup ("*") : g_strnfill (g_rand_int_range (r, 0, 300), 'c');
      g_autofree guint8 *data = g_malloc (4096);
      g_autoptr (GByteArray) body = NULL;

      for (guint k = 0; k < 4096; k++)
        data[k] = (guint8) g_rand_int (r);
      m.session = session;
      m.channel = channel;
      m.seq = (guint64) g_rand_int (r) << g_rand_int_range (r, 0, 32);
      m.epoch = (guint64) g_rand_int (r) << 32 | g_rand_int (r);
      m.time_us = g_rand_boolean (r) ? -(gint64) g_rand_int (r) : (gint64) g_rand_int (r) << 20;
      m.binary = g_rand_boolean (r);
      m.data.len = (gsize) g_rand_int_range (r, 0, 4096);
      m.data.data = m.data.len ? data : NULL;
      body = pack_event (&m, g_rand_int_range (r, 0, 3) ? g_rand_int (r) : 0);
      assert_agrees (body->data, body->len);
    }
  g_rand_free (r);
}

static void
test_last_value_wins (void)
{
  /* event { sub 1, message { seq 5, seq 9, session "a", session "bc", data "x" } } */
  const guint8 body[] = { 0x1a, 0x14, 0x08, 0x01, 0x12, 0x10, 0x18, 0x05, 0x18, 0x09, 0x0a,
                          0x01, 'a',  0x0a, 0x02, 'b',  'c',  0x3a, 0x01, 'x',  0x30, 0x01 };
  assert_agrees (body, sizeof body);
}

static void
test_unexpected_is_left_to_protobuf_c (void)
{
  const struct
  {
    const char *what;
    const guint8 *bytes;
    gsize len;
  } cases[] = {
    { "a reply", (const guint8 *) "\x12\x02\x08\x01", 4 },
    { "a gap event", (const guint8 *) "\x1a\x04\x08\x01\x1a\x00", 6 },
    { "an unknown message field", (const guint8 *) "\x1a\x06\x08\x01\x12\x02\x40\x01", 8 },
    { "an unknown event field", (const guint8 *) "\x1a\x04\x08\x01\x50\x01", 6 },
    { "an event without a message", (const guint8 *) "\x1a\x02\x08\x01", 4 },
    { "two message fields (protobuf merges them)",
      (const guint8 *) "\x1a\x08\x12\x02\x18\x01\x12\x02\x18\x02", 10 },
    { "a field after the event", (const guint8 *) "\x1a\x02\x12\x00\x10\x01", 6 },
    { "a truncated length", (const guint8 *) "\x1a\x05\x12\x03\x3a\x09x", 7 },
    { "a wrong wire type", (const guint8 *) "\x1a\x04\x12\x02\x19\x01", 6 },
    { "an eleven-byte varint",
      (const guint8 *) "\x1a\x0e\x12\x0c\x18\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 16 },
    { "nothing", (const guint8 *) "", 0 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      WsbcFastMessage fm;
      if (wsbc_fast_decode_message_event (cases[i].bytes, cases[i].len, &fm))
        g_error ("%s was decoded by the fast path", cases[i].what);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/client-fast/agrees-with-protobuf-c", test_agrees_with_protobuf_c);
  g_test_add_func ("/client-fast/last-value-wins", test_last_value_wins);
  g_test_add_func ("/client-fast/unexpected-left-to-protobuf-c",
                   test_unexpected_is_left_to_protobuf_c);
  return g_test_run ();
}
