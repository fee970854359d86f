/* The requests sent and not yet answered, in the order they were sent, and
 * the matching of a reply's id to one of them. Pure: a list, no I/O. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "wsbridge.h"

typedef enum
{
  WSBC_PENDING_BLOCKING, /* a wsb_client_call() waits for it */
  WSBC_PENDING_ASYNC,    /* wsb_client_request(): reply goes to func */
  WSBC_PENDING_ABANDONED /* its call timed out: drop the reply */
} WsbcPendingKind;

typedef struct WsbcPending
{
  struct WsbcPending *next;
  uint64_t id;
  WsbcPendingKind kind;
  bool done;                  /* blocking: reply has arrived */
  Wsbridge__V1__Reply *reply; /* blocking: the reply, once taken off the list */
  WsbClientReplyFunc func;
  void *user_data;
  /* A subscribe that asked for a ring: its session and channel (freed with
   * the entry), for the ring that its reply starts (client-ring.c). */
  char *ring_session, *ring_channel;
} WsbcPending;

/* Frees p and what it holds. */
void wsbc_pending_free (WsbcPending *p);

/* Links p last. */
void wsbc_pending_append (WsbcPending **list, WsbcPending *p);

/* Unlinks and returns the entry of request id, or NULL if none is pending. */
WsbcPending *wsbc_pending_take (WsbcPending **list, uint64_t id);

/* Unlinks target; false when it is no longer linked (its reply was taken). */
bool wsbc_pending_unlink (WsbcPending **list, WsbcPending *target);

/* Frees every entry, calling nothing. Linked entries hold no reply: a reply
 * is stored only in an entry already taken. */
void wsbc_pending_clear (WsbcPending **list);
