/* Per-channel history: a bounded ring of inbound messages that late joiners
 * and resuming subscribers read (pure logic, no I/O).
 *
 * The ring holds references to shared WsbMessages, oldest first, bounded by
 * a message count and by the sum of their encoded sizes. `complete_from`
 * records what the ring can vouch for: every message of its channel with
 * seq >= complete_from is either held or has not arrived yet, so a resume
 * from below it needs a gap event. It only ever rises. */
#pragma once

#include <glib.h>

#include "message.h"

typedef struct _WsbHistory WsbHistory;

WsbHistory *wsb_history_new (guint64 max_messages, guint64 max_bytes, guint64 complete_from);
void wsb_history_free (WsbHistory *h);

/* Takes a reference on m, whose seq must be greater than the newest held.
 * Evicts the oldest while count > max_messages or bytes > max_bytes; every
 * eviction raises complete_from to evicted->seq + 1. A message whose enc_len
 * alone exceeds max_bytes (or any message when max_messages is 0) empties
 * the ring and is not kept: complete_from becomes m->seq + 1. */
void wsb_history_push (WsbHistory *h, WsbMessage *m);

/* New limits (config reload): evicts as needed, by the same rules. */
void wsb_history_set_limits (WsbHistory *h, guint64 max_messages, guint64 max_bytes);

guint64 wsb_history_complete_from (const WsbHistory *h);
guint wsb_history_length (const WsbHistory *h);
/* Sum of enc_len of the messages held. */
guint64 wsb_history_bytes (const WsbHistory *h);
/* Newest seq held, 0 if empty. */
guint64 wsb_history_last_seq (const WsbHistory *h);

/* The i-th message, 0 = oldest; borrowed. */
WsbMessage *wsb_history_nth (const WsbHistory *h, guint i);

/* Index of the first message with seq > after; the length if none. */
guint wsb_history_first_after (const WsbHistory *h, guint64 after);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsbHistory, wsb_history_free)
