/* Unit tests of clients/libwsbridge/client-arena.c: the allocator that event
 * frames are unpacked into and rewound after each callback. */
#include <glib.h>
#include <string.h>

#include "client-arena.h"
#include "framing.h"
#include "wsbridge.pb-c.h"

static guint
count_chunks (const WsbcArena *arena)
{
  guint n = 0;

  for (const WsbcArenaChunk *c = arena->head; c; c = c->prev)
    n++;
  return n;
}

static void
test_mark_pushes_first_chunk (void)
{
  WsbcArena arena = { NULL };
  WsbcArenaMark mark;

  g_assert_true (wsbc_arena_mark (&arena, &mark));
  g_assert_cmpuint (count_chunks (&arena), ==, 1);
  g_assert_true (mark.chunk == arena.head);
  g_assert_cmpuint (mark.used, ==, 0);
  g_assert_cmpuint (arena.head->size, ==, WSBC_ARENA_CHUNK);
  wsbc_arena_clear (&arena);
  g_assert_null (arena.head);
}

static void
test_aligned_and_disjoint (void)
{
  WsbcArena arena = { NULL };
  ProtobufCAllocator alloc;
  guint8 *prev = NULL;
  gsize prev_size = 0;

  wsbc_arena_allocator_init (&arena, &alloc);
  g_assert_true (alloc.allocator_data == &arena);
  for (gsize size = 1; size < 200; size += 7)
    {
      guint8 *p = alloc.alloc (alloc.allocator_data, size);

      g_assert_nonnull (p);
      g_assert_cmpuint ((guintptr) p % _Alignof(max_align_t), ==, 0);
      if (prev)
        g_assert_true (p >= prev + prev_size);
      memset (p, 0xab, size);
      prev = p;
      prev_size = size;
    }
  /* Small allocations share the first chunk. */
  g_assert_cmpuint (count_chunks (&arena), ==, 1);
  /* free is a no-op: the memory stays valid until the arena is rewound. */
  alloc.free (alloc.allocator_data, prev);
  g_assert_cmpuint (prev[0], ==, 0xab);
  wsbc_arena_clear (&arena);
}

static void
test_release_rewinds (void)
{
  WsbcArena arena = { NULL };
  ProtobufCAllocator alloc;
  WsbcArenaMark mark;
  void *first;
  void *again;

  wsbc_arena_allocator_init (&arena, &alloc);
  alloc.alloc (alloc.allocator_data, 100);
  g_assert_true (wsbc_arena_mark (&arena, &mark));
  g_assert_cmpuint (mark.used, >=, 100);
  first = alloc.alloc (alloc.allocator_data, 32);
  alloc.alloc (alloc.allocator_data, 1000);
  wsbc_arena_release (&arena, &mark);
  g_assert_cmpuint (arena.head->used, ==, mark.used);
  again = alloc.alloc (alloc.allocator_data, 32);
  g_assert_true (first == again);
  wsbc_arena_clear (&arena);
}

static void
test_big_allocations_get_own_chunks (void)
{
  WsbcArena arena = { NULL };
  ProtobufCAllocator alloc;
  WsbcArenaMark mark;
  guint8 *big;

  wsbc_arena_allocator_init (&arena, &alloc);
  g_assert_true (wsbc_arena_mark (&arena, &mark));
  big = alloc.alloc (alloc.allocator_data, 3 * WSBC_ARENA_CHUNK + 5);
  g_assert_nonnull (big);
  memset (big, 1, 3 * WSBC_ARENA_CHUNK + 5);
  g_assert_cmpuint (count_chunks (&arena), ==, 2);
  g_assert_cmpuint (arena.head->size, >=, 3 * WSBC_ARENA_CHUNK + 5);
  /* The big chunk is full: the next small allocation starts a fresh one. */
  g_assert_nonnull (alloc.alloc (alloc.allocator_data, 16));
  g_assert_cmpuint (count_chunks (&arena), ==, 3);
  /* Releasing to the mark frees the chunks pushed since and keeps the first. */
  wsbc_arena_release (&arena, &mark);
  g_assert_cmpuint (count_chunks (&arena), ==, 1);
  g_assert_true (arena.head == mark.chunk);
  g_assert_cmpuint (arena.head->used, ==, 0);
  wsbc_arena_clear (&arena);
  g_assert_cmpuint (count_chunks (&arena), ==, 0);
}

/* What the client does with every event frame: unpack into the arena, read
 * the event, rewind. Many events, some bigger than a chunk, leave the arena
 * as it was: one chunk, empty. */
static void
test_unpack_event_into_arena (void)
{
  WsbcArena arena = { NULL };
  ProtobufCAllocator alloc;
  const gsize big = 2 * WSBC_ARENA_CHUNK;
  g_autofree guint8 *data = g_malloc (big);

  for (gsize i = 0; i < big; i++)
    data[i] = (guint8) (i * 7);
  wsbc_arena_allocator_init (&arena, &alloc);
  for (guint i = 0; i < 100; i++)
    {
      Wsbridge__V1__ServerFrame frame = WSBRIDGE__V1__SERVER_FRAME__INIT;
      Wsbridge__V1__Event event = WSBRIDGE__V1__EVENT__INIT;
      Wsbridge__V1__Message msg = WSBRIDGE__V1__MESSAGE__INIT;
      Wsbridge__V1__ServerFrame *out;
      g_autofree guint8 *packed = NULL;
      WsbcArenaMark mark;
      gsize len;
      gsize data_len = i % 10 == 9 ? big : 1000 + i * 20;

      msg.session = (char *) "demo";
      msg.channel = (char *) "ticker";
      msg.seq = i + 1;
      msg.data.data = data;
      msg.data.len = data_len;
      event.subscription_id = 7;
      event.event_case = WSBRIDGE__V1__EVENT__EVENT_MESSAGE;
      event.message = &msg;
      frame.frame_case = WSBRIDGE__V1__SERVER_FRAME__FRAME_EVENT;
      frame.event = &event;
      len = wsbridge__v1__server_frame__get_packed_size (&frame);
      packed = g_malloc (len);
      wsbridge__v1__server_frame__pack (&frame, packed);
      g_assert_cmpuint (packed[0], ==, (WSB_SERVER_FRAME_EVENT << 3) | 2);

      g_assert_true (wsbc_arena_mark (&arena, &mark));
      out = wsbridge__v1__server_frame__unpack (&alloc, len, packed);
      g_assert_nonnull (out);
      g_assert_cmpint (out->frame_case, ==, WSBRIDGE__V1__SERVER_FRAME__FRAME_EVENT);
      g_assert_cmpuint (out->event->subscription_id, ==, 7);
      g_assert_cmpstr (out->event->message->channel, ==, "ticker");
      g_assert_cmpuint (out->event->message->seq, ==, i + 1);
      g_assert_cmpmem (out->event->message->data.data, out->event->message->data.len, data,
                       data_len);
      /* The frame lives in the arena, a big one in chunks of its own. */
      g_assert_true (arena.head != mark.chunk || arena.head->used > mark.used);
      if (data_len > WSBC_ARENA_CHUNK)
        g_assert_cmpuint (count_chunks (&arena), >=, 2);
      else
        g_assert_cmpuint (count_chunks (&arena), ==, 1);
      wsbc_arena_release (&arena, &mark);
      g_assert_cmpuint (count_chunks (&arena), ==, 1);
      g_assert_cmpuint (arena.head->used, ==, 0);
    }
  wsbc_arena_clear (&arena);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/client-arena/mark-pushes-first-chunk", test_mark_pushes_first_chunk);
  g_test_add_func ("/client-arena/aligned-and-disjoint", test_aligned_and_disjoint);
  g_test_add_func ("/client-arena/release-rewinds", test_release_rewinds);
  g_test_add_func ("/client-arena/big-allocations", test_big_allocations_get_own_chunks);
  g_test_add_func ("/client-arena/unpack-event", test_unpack_event_into_arena);

  return g_test_run ();
}
