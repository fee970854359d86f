#include "client-pending.h"

#include <stdlib.h>

void
wsbc_pending_append (WsbcPending **list, WsbcPending *p)
{
  WsbcPending **tail;

  for (tail = list; *tail; tail = &(*tail)->next)
    ;
  p->next = NULL;
  *tail = p;
}

WsbcPending *
wsbc_pending_take (WsbcPending **list, uint64_t id)
{
  for (WsbcPending **pp = list; *pp; pp = &(*pp)->next)
    {
      WsbcPending *p = *pp;

      if (p->id == id)
        {
          *pp = p->next;
          p->next = NULL;
          return p;
        }
    }
  return NULL;
}

bool
wsbc_pending_unlink (WsbcPending **list, WsbcPending *target)
{
  for (WsbcPending **pp = list; *pp; pp = &(*pp)->next)
    if (*pp == target)
      {
        *pp = target->next;
        target->next = NULL;
        return true;
      }
  return false;
}

void
wsbc_pending_clear (WsbcPending **list)
{
  WsbcPending *p;

  while ((p = *list))
    {
      *list = p->next;
      wsbc_pending_free (p);
    }
}

void
wsbc_pending_free (WsbcPending *p)
{
  if (!p)
    return;
  free (p->ring_session);
  free (p->ring_channel);
  free (p);
}
