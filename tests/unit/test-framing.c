/* Unit tests of proto/framing/framing.c: varints, frame peeking, and the hand-built
 * event encodings checked against protobuf-c's decoder. */
#include <glib.h>
#include <string.h>

#include "framing.h"
#include "wsbridge.pb-c.h"

static void
test_varint_round_trip (void)
{
  const struct
  {
    guint64 value;
    gsize size;
  } cases[] = {
    { 0, 1 },
    { 1, 1 },
    { 127, 1 },
    { 128, 2 },
    { 300, 2 },
    { 16383, 2 },
    { 16384, 3 },
    { G_GUINT64_CONSTANT (1) << 32, 5 },
    { (G_GUINT64_CONSTANT (1) << 63) - 1, 9 },
    { G_GUINT64_CONSTANT (1) << 63, 10 },
    { G_MAXUINT64, 10 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      guint8 buf[WSB_VARINT_MAX + 1];
      guint64 value = 0;
      gsize used = 0;
      gsize n = wsb_varint_encode (cases[i].value, buf);

      g_assert_cmpuint (n, ==, cases[i].size);
      g_assert_cmpuint (wsb_varint_size (cases[i].value), ==, n);
      /* Every byte but the last carries the continuation bit. */
      for (gsize j = 0; j + 1 < n; j++)
        g_assert_true (buf[j] & 0x80);
      g_assert_false (buf[n - 1] & 0x80);

      g_assert_cmpint (wsb_varint_decode (buf, n, &value, &used), ==, WSB_FRAME_OK);
      g_assert_cmpuint (value, ==, cases[i].value);
      g_assert_cmpuint (used, ==, n);

      /* Trailing bytes are not consumed. */
      buf[n] = 0x7f;
      g_assert_cmpint (wsb_varint_decode (buf, n + 1, &value, &used), ==, WSB_FRAME_OK);
      g_assert_cmpuint (used, ==, n);
    }
}

static void
test_varint_known_bytes (void)
{
  guint8 buf[WSB_VARINT_MAX];
  const guint8 v300[] = { 0xac, 0x02 };
  const guint8 vmax[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };

  g_assert_cmpuint (wsb_varint_encode (300, buf), ==, 2);
  g_assert_cmpmem (buf, 2, v300, sizeof v300);
  g_assert_cmpuint (wsb_varint_encode (G_MAXUINT64, buf), ==, 10);
  g_assert_cmpmem (buf, 10, vmax, sizeof vmax);
}

static void
test_varint_truncated (void)
{
  guint8 buf[WSB_VARINT_MAX];
  guint64 value;
  gsize used;
  gsize n = wsb_varint_encode (G_MAXUINT64, buf);

  g_assert_cmpint (wsb_varint_decode (buf, 0, &value, &used), ==, WSB_FRAME_NEED_MORE);
  for (gsize len = 1; len < n; len++)
    g_assert_cmpint (wsb_varint_decode (buf, len, &value, &used), ==, WSB_FRAME_NEED_MORE);

  n = wsb_varint_encode (128, buf);
  g_assert_cmpint (wsb_varint_decode (buf, 1, &value, &used), ==, WSB_FRAME_NEED_MORE);
}

static void
test_varint_bad (void)
{
  guint64 value;
  gsize used;
  /* Ten bytes whose last one carries more than the 64th bit. */
  const guint8 high[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02 };
  const guint8 high7f[] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f };
  /* Ten bytes that still continue: an eleventh byte would follow. */
  const guint8 eleven[] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x81, 0x00 };
  const guint8 ten_cont[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x81 };

  g_assert_cmpint (wsb_varint_decode (high, sizeof high, &value, &used), ==, WSB_FRAME_BAD_VARINT);
  g_assert_cmpint (wsb_varint_decode (high7f, sizeof high7f, &value, &used), ==,
                   WSB_FRAME_BAD_VARINT);
  g_assert_cmpint (wsb_varint_decode (eleven, sizeof eleven, &value, &used), ==,
                   WSB_FRAME_BAD_VARINT);
  g_assert_cmpint (wsb_varint_decode (ten_cont, sizeof ten_cont, &value, &used), ==,
                   WSB_FRAME_BAD_VARINT);

  /* A non-minimal but valid encoding of 0 in ten bytes is accepted. */
  {
    const guint8 padded[] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00 };

    g_assert_cmpint (wsb_varint_decode (padded, sizeof padded, &value, &used), ==, WSB_FRAME_OK);
    g_assert_cmpuint (value, ==, 0);
    g_assert_cmpuint (used, ==, 10);
  }
}

static void
test_frame_peek (void)
{
  guint8 buf[64];
  gsize prefix_len, body_len;
  gsize n = wsb_varint_encode (5, buf);

  memcpy (buf + n, "hello", 5);

  g_assert_cmpint (wsb_frame_peek (buf, n + 5, 1024, &prefix_len, &body_len), ==, WSB_FRAME_OK);
  g_assert_cmpuint (prefix_len, ==, 1);
  g_assert_cmpuint (body_len, ==, 5);
  g_assert_cmpmem (buf + prefix_len, body_len, "hello", 5);

  /* Extra bytes (the next frame) do not matter. */
  g_assert_cmpint (wsb_frame_peek (buf, sizeof buf, 1024, &prefix_len, &body_len), ==,
                   WSB_FRAME_OK);
  g_assert_cmpuint (body_len, ==, 5);

  /* Exactly at the limit is fine. */
  g_assert_cmpint (wsb_frame_peek (buf, n + 5, 5, &prefix_len, &body_len), ==, WSB_FRAME_OK);

  /* Empty buffer, and every partial frame. */
  g_assert_cmpint (wsb_frame_peek (buf, 0, 1024, &prefix_len, &body_len), ==, WSB_FRAME_NEED_MORE);
  g_assert_cmpuint (body_len, ==, 0);
  for (gsize len = 1; len < n + 5; len++)
    {
      g_assert_cmpint (wsb_frame_peek (buf, len, 1024, &prefix_len, &body_len), ==,
                       WSB_FRAME_NEED_MORE);
      /* The prefix is complete, so the announced length is known. */
      g_assert_cmpuint (body_len, ==, 5);
    }

  /* An empty frame is complete with just its prefix. */
  buf[0] = 0;
  g_assert_cmpint (wsb_frame_peek (buf, 1, 1024, &prefix_len, &body_len), ==, WSB_FRAME_OK);
  g_assert_cmpuint (prefix_len, ==, 1);
  g_assert_cmpuint (body_len, ==, 0);
}

static void
test_frame_peek_partial_prefix (void)
{
  guint8 buf[WSB_VARINT_MAX];
  gsize prefix_len = 99, body_len = 99;
  gsize n = wsb_varint_encode (300000, buf);

  g_assert_cmpuint (n, ==, 3);
  g_assert_cmpint (wsb_frame_peek (buf, 2, G_MAXUINT64, &prefix_len, &body_len), ==,
                   WSB_FRAME_NEED_MORE);
  g_assert_cmpuint (prefix_len, ==, 0);
  g_assert_cmpuint (body_len, ==, 0);
  g_assert_cmpint (wsb_frame_peek (buf, 3, G_MAXUINT64, &prefix_len, &body_len), ==,
                   WSB_FRAME_NEED_MORE);
  g_assert_cmpuint (prefix_len, ==, 3);
  g_assert_cmpuint (body_len, ==, 300000);
}

static void
test_frame_peek_too_large (void)
{
  guint8 buf[WSB_VARINT_MAX];
  gsize prefix_len, body_len;
  gsize n = wsb_varint_encode (1025, buf);

  /* Judged on the prefix alone, before any body byte arrives. */
  g_assert_cmpint (wsb_frame_peek (buf, n, 1024, &prefix_len, &body_len), ==, WSB_FRAME_TOO_LARGE);
  n = wsb_varint_encode (G_MAXUINT64, buf);
  g_assert_cmpint (wsb_frame_peek (buf, n, 64 * 1024 * 1024, &prefix_len, &body_len), ==,
                   WSB_FRAME_TOO_LARGE);
}

static void
test_frame_peek_bad_varint (void)
{
  const guint8 eleven[] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x81, 0x00 };
  gsize prefix_len, body_len;

  g_assert_cmpint (wsb_frame_peek (eleven, sizeof eleven, G_MAXUINT64, &prefix_len, &body_len), ==,
                   WSB_FRAME_BAD_VARINT);
}

/* Frames written back to back are peeked one after the other. */
static void
test_frame_sequence (void)
{
  GByteArray *stream = g_byte_array_new ();
  const char *bodies[] = { "", "a", "hello world", "" };
  gsize off = 0;

  for (gsize i = 0; i < G_N_ELEMENTS (bodies); i++)
    {
      guint8 prefix[WSB_VARINT_MAX];
      gsize n = wsb_varint_encode (strlen (bodies[i]), prefix);

      g_byte_array_append (stream, prefix, (guint) n);
      g_byte_array_append (stream, (const guint8 *) bodies[i], (guint) strlen (bodies[i]));
    }
  for (gsize i = 0; i < G_N_ELEMENTS (bodies); i++)
    {
      gsize prefix_len, body_len;

      g_assert_cmpint (
          wsb_frame_peek (stream->data + off, stream->len - off, 1024, &prefix_len, &body_len), ==,
          WSB_FRAME_OK);
      g_assert_cmpmem (stream->data + off + prefix_len, body_len, bodies[i], strlen (bodies[i]));
      off += prefix_len + body_len;
    }
  g_assert_cmpuint (off, ==, stream->len);
  g_byte_array_free (stream, TRUE);
}

typedef struct
{
  const char *session;
  const char *channel;
  guint64 subscription_id;
  guint64 seq;
  guint64 epoch;
  gint64 time_us;
  gboolean binary;
  gsize data_len;
} MessageCase;

/* Builds a delimited ServerFrame{event{message}} with the hand encoders, the
 * way the daemon does, and decodes it with protobuf-c. */
static void
check_message_case (const MessageCase *mc)
{
  guint8 *data = g_malloc (mc->data_len + 1);
  gsize session_len = strlen (mc->session);
  gsize channel_len = strlen (mc->channel);
  gsize body_len;
  gsize data_off;
  guint8 header[WSB_EVENT_HEADER_MAX];
  gsize header_len;
  guint8 *frame;
  gsize prefix_len, frame_body_len;
  Wsbridge__V1__ServerFrame *sf;
  const Wsbridge__V1__Message *m;

  for (gsize i = 0; i < mc->data_len; i++)
    data[i] = (guint8) (i * 31 + 7);

  body_len = wsb_message_encoded_size (session_len, channel_len, mc->seq, mc->time_us, mc->binary,
                                       mc->data_len);
  header_len = wsb_event_header_encode (header, mc->subscription_id, WSB_EVENT_MESSAGE, body_len);
  g_assert_cmpuint (header_len, <=, WSB_EVENT_HEADER_MAX);

  /* Poison the tail so writing past body_len shows up. */
  frame = g_malloc (header_len + body_len + 16);
  memset (frame, 0xa5, header_len + body_len + 16);
  memcpy (frame, header, header_len);
  data_off
      = wsb_message_encode (frame + header_len, mc->session, session_len, mc->channel, channel_len,
                            mc->seq, mc->epoch, mc->time_us, mc->binary, data, mc->data_len);
  g_assert_cmpuint (data_off + mc->data_len, ==, body_len);
  g_assert_cmpmem (frame + header_len + data_off, mc->data_len, data, mc->data_len);
  for (gsize i = 0; i < 16; i++)
    g_assert_cmpuint (frame[header_len + body_len + i], ==, 0xa5);

  /* The header's length prefix covers exactly the rest of the frame. */
  g_assert_cmpint (
      wsb_frame_peek (frame, header_len + body_len, G_MAXUINT64, &prefix_len, &frame_body_len), ==,
      WSB_FRAME_OK);
  g_assert_cmpuint (prefix_len + frame_body_len, ==, header_len + body_len);

  sf = wsbridge__v1__server_frame__unpack (NULL, frame_body_len, frame + prefix_len);
  g_assert_nonnull (sf);
  g_assert_cmpint (sf->frame_case, ==, WSBRIDGE__V1__SERVER_FRAME__FRAME_EVENT);
  g_assert_cmpuint (sf->event->subscription_id, ==, mc->subscription_id);
  g_assert_cmpint (sf->event->event_case, ==, WSBRIDGE__V1__EVENT__EVENT_MESSAGE);
  m = sf->event->message;
  g_assert_cmpstr (m->session, ==, mc->session);
  g_assert_cmpstr (m->channel, ==, mc->channel);
  g_assert_cmpuint (m->seq, ==, mc->seq);
  g_assert_cmpuint (m->epoch, ==, mc->epoch);
  g_assert_cmpint (m->time_us, ==, mc->time_us);
  g_assert_cmpint (!!m->binary, ==, !!mc->binary);
  g_assert_cmpmem (m->data.data, m->data.len, data, mc->data_len);

  /* protobuf-c's own encoding has the same size when no field has its
   * default value (proto3 omits those; the hand encoder writes them). */
  if (session_len && channel_len && mc->seq && mc->epoch && mc->time_us && mc->data_len)
    g_assert_cmpuint (wsbridge__v1__message__get_packed_size (m), ==, body_len);

  wsbridge__v1__server_frame__free_unpacked (sf, NULL);
  g_free (frame);
  g_free (data);
}

static void
test_message_encode_protobuf (void)
{
  const MessageCase cases[] = {
    { "demo", "*", 1, 1, G_GUINT64_CONSTANT (0x0123456789abcdef),
      G_GINT64_CONSTANT (1700000000000000), FALSE, 5 },
    { "demo", "*", 7, 12345, 1, 0, TRUE, 1 },
    /* Empty data, empty strings, zero numbers. */
    { "", "", 0, 0, 0, 0, FALSE, 0 },
    { "s", "trades/BTC-USD", 3, 0, 0, 0, TRUE, 0 },
    /* Big numbers: 10-byte varints and a fixed64 with every byte set. */
    { "x", "y", G_MAXUINT64, G_MAXUINT64, G_MAXUINT64, G_MAXINT64, FALSE, 200 },
    { "neg", "*", 2, 3, 4, -1, FALSE, 3 },
    /* Lengths around the 1/2-byte varint boundary. */
    { "a", "*", 1, 1, 1, 1, FALSE, 127 },
    { "a", "*", 1, 1, 1, 1, FALSE, 128 },
    /* A 300 KB payload: three-byte length varints in the message and event. */
    { "bulk", "*", 99, 1000000, G_GUINT64_CONSTANT (0xfedcba9876543210), 1, TRUE, 300 * 1024 },
    { "bulk", "*", 99, 1000000, 5, 1, FALSE, 300 * 1024 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    check_message_case (&cases[i]);
}

/* wsb_event_header_encode works for any body (gap, state) too. */
static void
test_event_header_gap (void)
{
  Wsbridge__V1__Gap gap = WSBRIDGE__V1__GAP__INIT;
  guint8 header[WSB_EVENT_HEADER_MAX];
  gsize body_len, header_len, prefix_len, frame_body_len;
  guint8 *frame;
  Wsbridge__V1__ServerFrame *sf;

  gap.session = (char *) "demo";
  gap.channel = (char *) "*";
  gap.from_seq = 5;
  gap.to_seq = 9;
  gap.epoch = 42;
  body_len = wsbridge__v1__gap__get_packed_size (&gap);
  header_len = wsb_event_header_encode (header, 300, WSB_EVENT_GAP, body_len);
  frame = g_malloc (header_len + body_len);
  memcpy (frame, header, header_len);
  wsbridge__v1__gap__pack (&gap, frame + header_len);

  g_assert_cmpint (
      wsb_frame_peek (frame, header_len + body_len, G_MAXUINT64, &prefix_len, &frame_body_len), ==,
      WSB_FRAME_OK);
  g_assert_cmpuint (prefix_len + frame_body_len, ==, header_len + body_len);
  sf = wsbridge__v1__server_frame__unpack (NULL, frame_body_len, frame + prefix_len);
  g_assert_nonnull (sf);
  g_assert_cmpint (sf->frame_case, ==, WSBRIDGE__V1__SERVER_FRAME__FRAME_EVENT);
  g_assert_cmpuint (sf->event->subscription_id, ==, 300);
  g_assert_cmpint (sf->event->event_case, ==, WSBRIDGE__V1__EVENT__EVENT_GAP);
  g_assert_cmpstr (sf->event->gap->session, ==, "demo");
  g_assert_cmpuint (sf->event->gap->from_seq, ==, 5);
  g_assert_cmpuint (sf->event->gap->to_seq, ==, 9);
  g_assert_cmpuint (sf->event->gap->epoch, ==, 42);
  wsbridge__v1__server_frame__free_unpacked (sf, NULL);
  g_free (frame);
}

/* The field numbers framing.h hard-codes match the schema. */
static void
test_field_numbers (void)
{
  const ProtobufCFieldDescriptor *f;

  f = protobuf_c_message_descriptor_get_field_by_name (&wsbridge__v1__server_frame__descriptor,
                                                       "event");
  g_assert_cmpuint (f->id, ==, WSB_SERVER_FRAME_EVENT);
  f = protobuf_c_message_descriptor_get_field_by_name (&wsbridge__v1__event__descriptor,
                                                       "subscription_id");
  g_assert_cmpuint (f->id, ==, WSB_EVENT_SUBSCRIPTION_ID);
  f = protobuf_c_message_descriptor_get_field_by_name (&wsbridge__v1__event__descriptor, "message");
  g_assert_cmpuint (f->id, ==, WSB_EVENT_MESSAGE);
  f = protobuf_c_message_descriptor_get_field_by_name (&wsbridge__v1__event__descriptor, "gap");
  g_assert_cmpuint (f->id, ==, WSB_EVENT_GAP);
  f = protobuf_c_message_descriptor_get_field_by_name (&wsbridge__v1__event__descriptor, "state");
  g_assert_cmpuint (f->id, ==, WSB_EVENT_STATE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/framing/varint/round-trip", test_varint_round_trip);
  g_test_add_func ("/framing/varint/known-bytes", test_varint_known_bytes);
  g_test_add_func ("/framing/varint/truncated", test_varint_truncated);
  g_test_add_func ("/framing/varint/bad", test_varint_bad);
  g_test_add_func ("/framing/peek/complete-and-partial", test_frame_peek);
  g_test_add_func ("/framing/peek/partial-prefix", test_frame_peek_partial_prefix);
  g_test_add_func ("/framing/peek/too-large", test_frame_peek_too_large);
  g_test_add_func ("/framing/peek/bad-varint", test_frame_peek_bad_varint);
  g_test_add_func ("/framing/peek/sequence", test_frame_sequence);
  g_test_add_func ("/framing/message/protobuf-c", test_message_encode_protobuf);
  g_test_add_func ("/framing/event-header/gap", test_event_header_gap);
  g_test_add_func ("/framing/field-numbers", test_field_numbers);

  return g_test_run ();
}
