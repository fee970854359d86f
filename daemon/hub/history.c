#include "history.h"

/* Most channels hold a handful of messages while max_messages may be a
 * million, so the slot array starts small and doubles on demand, never
 * beyond max_messages. */
#define MIN_CAPACITY 8

struct _WsbHistory
{
  WsbMessage **slots; /* circular: the oldest at head */
  guint capacity;
  guint head;
  guint length;
  guint64 bytes;
  guint64 max_messages;
  guint64 max_bytes;
  guint64 complete_from;
};

static inline guint
slot_index (const WsbHistory *h, guint i)
{
  guint idx = h->head + i;

  /* Both terms are below capacity, so one subtraction wraps (and avoids a
   * division per access). */
  return idx >= h->capacity ? idx - h->capacity : idx;
}

static inline WsbMessage *
slot (const WsbHistory *h, guint i)
{
  return h->slots[slot_index (h, i)];
}

/* Moves the messages to a new array of new_capacity (>= length) slots, the
 * oldest at index 0. */
static void
resize (WsbHistory *h, guint new_capacity)
{
  WsbMessage **slots = g_new (WsbMessage *, new_capacity);

  for (guint i = 0; i < h->length; i++)
    slots[i] = slot (h, i);
  g_free (h->slots);
  h->slots = slots;
  h->capacity = new_capacity;
  h->head = 0;
}

static void
evict_oldest (WsbHistory *h)
{
  WsbMessage *m = h->slots[h->head];

  h->slots[h->head] = NULL;
  h->head = slot_index (h, 1);
  h->length--;
  h->bytes -= m->enc_len;
  h->complete_from = MAX (h->complete_from, m->seq + 1);
  wsb_message_unref (m);
}

static void
evict_over_limits (WsbHistory *h)
{
  while (h->length > 0 && (h->length > h->max_messages || h->bytes > h->max_bytes))
    evict_oldest (h);
}

WsbHistory *
wsb_history_new (guint64 max_messages, guint64 max_bytes, guint64 complete_from)
{
  WsbHistory *h = g_new0 (WsbHistory, 1);

  h->max_messages = max_messages;
  h->max_bytes = max_bytes;
  h->complete_from = complete_from;
  return h;
}

void
wsb_history_free (WsbHistory *h)
{
  if (!h)
    return;
  for (guint i = 0; i < h->length; i++)
    wsb_message_unref (slot (h, i));
  g_free (h->slots);
  g_free (h);
}

void
wsb_history_push (WsbHistory *h, WsbMessage *m)
{
  g_return_if_fail (h != NULL && m != NULL);
  g_return_if_fail (m->seq > wsb_history_last_seq (h));

  if (m->enc_len > h->max_bytes || h->max_messages == 0)
    {
      while (h->length > 0)
        evict_oldest (h);
      h->complete_from = MAX (h->complete_from, m->seq + 1);
      return;
    }

  /* Make room first, so the array never needs a slot beyond max_messages. */
  while (h->length > 0 && (h->length >= h->max_messages || h->bytes + m->enc_len > h->max_bytes))
    evict_oldest (h);

  if (h->length == h->capacity)
    {
      guint64 want = MAX ((guint64) h->capacity * 2, MIN_CAPACITY);

      resize (h, (guint) MIN (want, MIN (h->max_messages, G_MAXUINT)));
    }
  h->slots[slot_index (h, h->length)] = wsb_message_ref (m);
  h->length++;
  h->bytes += m->enc_len;
}

void
wsb_history_set_limits (WsbHistory *h, guint64 max_messages, guint64 max_bytes)
{
  guint fit;

  g_return_if_fail (h != NULL);

  h->max_messages = max_messages;
  h->max_bytes = max_bytes;
  evict_over_limits (h);

  /* Give back memory when a shrink left the array mostly empty or larger
   * than the new limit allows. */
  fit = MAX (h->length, MIN_CAPACITY);
  if (h->capacity > 2 * (guint64) fit || (h->capacity > fit && h->capacity > max_messages))
    resize (h, fit);
}

guint64
wsb_history_complete_from (const WsbHistory *h)
{
  return h->complete_from;
}

guint
wsb_history_length (const WsbHistory *h)
{
  return h->length;
}

guint64
wsb_history_bytes (const WsbHistory *h)
{
  return h->bytes;
}

guint64
wsb_history_last_seq (const WsbHistory *h)
{
  return h->length ? slot (h, h->length - 1)->seq : 0;
}

WsbMessage *
wsb_history_nth (const WsbHistory *h, guint i)
{
  g_return_val_if_fail (i < h->length, NULL);
  return slot (h, i);
}

guint
wsb_history_first_after (const WsbHistory *h, guint64 after)
{
  guint lo = 0, hi = h->length;

  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;

      if (slot (h, mid)->seq > after)
        hi = mid;
      else
        lo = mid + 1;
    }
  return lo;
}
