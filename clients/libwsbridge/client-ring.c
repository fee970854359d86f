/* Shared-memory rings (proto/RING.md), invisible to the application: the
 * hello offers ring layout 1, each wsb_client_subscribe() asks for a ring,
 * and the RingStart event the daemon sends after the catch-up is taken
 * here: the ring is mapped read-only, its eventfd joins an epoll descriptor
 * that wsb_client_get_fd() then returns (readable when the socket or any
 * ring has something), and dispatch/run turn the ring's records into the
 * same message and gap events the socket would have given. What still comes
 * on the socket waits for its place among the ring's records, so the order
 * stays the daemon's: a message too large for the ring until the ring gets
 * to its "elsewhere" record, a state change until the ring has given every
 * message up to the session's last seq that it names. WSBRIDGE_NO_RING=1 in the environment keeps
 * every subscription on the socket. */
#include "client-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ring.h"

struct WsbcRingSub
{
  uint64_t id;
  char *session;
  char *channel; /* "*": every record */
  uint64_t epoch;
  int wake_fd; /* -1 until the RingStart */
  void *map;
  size_t map_len;
  WsbRingReader reader;
  bool waiting; /* for the socket message of an "elsewhere" record */
  uint64_t waiting_seq;
  struct Parked *parked; /* socket events that came before the ring got to them */
  struct WsbcRingSub *next;
};

/* A socket event of a ring subscription (a message too large for the ring,
 * or the gap for it), kept packed until the ring reaches its place. */
struct Parked
{
  bool state;                /* a state change: to_seq is its status's last_seq */
  uint64_t from_seq, to_seq; /* a message: its seq twice */
  size_t len;
  struct Parked *next;
  uint8_t data[];
};

/* ---------------------------------------------------------------- set-up */

void
wsbc_ring_hello (WsbClient *c, Wsbridge__V1__Hello *hello)
{
  const char *off = getenv ("WSBRIDGE_NO_RING");

  hello->ring_version = off && *off && strcmp (off, "0") != 0 ? 0 : WSB_RING_VERSION;
}

WsbClientStatus
wsbc_ring_ready (WsbClient *c)
{
  struct epoll_event ev = { .events = EPOLLIN };

  if (!c->hello || c->hello->ring_version != WSB_RING_VERSION)
    return WSB_CLIENT_OK;
  c->epfd = epoll_create1 (EPOLL_CLOEXEC);
  ev.data.u64 = 0; /* the socket */
  if (c->epfd < 0 || epoll_ctl (c->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0)
    return wsbc_fail (c, WSB_CLIENT_ERR_IO, 0, "cannot set up epoll for the rings: %s",
                      strerror (errno));
  return WSB_CLIENT_OK;
}

bool
wsbc_ring_wanted (const WsbClient *c)
{
  return c->epfd >= 0;
}

static void
parked_free_all (struct WsbcRingSub *s)
{
  while (s->parked)
    {
      struct Parked *p = s->parked;

      s->parked = p->next;
      free (p);
    }
}

static void
sub_free (WsbClient *c, struct WsbcRingSub *s)
{
  parked_free_all (s);
  if (s->wake_fd >= 0)
    {
      if (c->epfd >= 0)
        epoll_ctl (c->epfd, EPOLL_CTL_DEL, s->wake_fd, NULL);
      close (s->wake_fd);
    }
  wsb_ring_reader_clear (&s->reader);
  if (s->map)
    munmap (s->map, s->map_len);
  free (s->session);
  free (s->channel);
  free (s);
}

void
wsbc_ring_clear (WsbClient *c)
{
  while (c->ring_subs)
    {
      struct WsbcRingSub *s = c->ring_subs;

      c->ring_subs = s->next;
      sub_free (c, s);
    }
  for (int i = 0; i < c->n_fds; i++)
    close (c->fds[i]);
  c->n_fds = 0;
  if (c->epfd >= 0)
    close (c->epfd);
  c->epfd = -1;
}

WsbClientStatus
wsbc_ring_subscribed (WsbClient *c, uint64_t id, const char *session, const char *channel)
{
  struct WsbcRingSub *s = calloc (1, sizeof *s);

  if (!s || !(s->session = strdup (session)) || !(s->channel = strdup (channel)))
    {
      if (s)
        free (s->session);
      free (s);
      return wsbc_nomem (c);
    }
  s->id = id;
  s->wake_fd = -1;
  s->next = c->ring_subs;
  c->ring_subs = s;
  return WSB_CLIENT_OK;
}

void
wsbc_ring_unsubscribed (WsbClient *c, uint64_t id)
{
  for (struct WsbcRingSub **p = &c->ring_subs; *p; p = &(*p)->next)
    if ((*p)->id == id)
      {
        struct WsbcRingSub *s = *p;

        *p = s->next;
        sub_free (c, s);
        return;
      }
}

static struct WsbcRingSub *
find (WsbClient *c, uint64_t id)
{
  for (struct WsbcRingSub *s = c->ring_subs; s; s = s->next)
    if (s->id == id)
      return s;
  return NULL;
}

/* ---------------------------------------------------------- descriptors */

void
wsbc_ring_take_fds (WsbClient *c, struct msghdr *msg)
{
  for (struct cmsghdr *cm = CMSG_FIRSTHDR (msg); cm; cm = CMSG_NXTHDR (msg, cm))
    {
      int n;

      if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
        continue;
      n = (int) ((cm->cmsg_len - CMSG_LEN (0)) / sizeof (int));
      for (int i = 0; i < n; i++)
        {
          int fd;

          memcpy (&fd, CMSG_DATA (cm) + i * sizeof (int), sizeof fd);
          if (c->n_fds < WSBC_MAX_FDS)
            c->fds[c->n_fds++] = fd;
          else
            close (fd);
        }
    }
}

/* The oldest descriptor received and not yet used, or -1. */
static int
take_fd (WsbClient *c)
{
  int fd;

  if (c->n_fds == 0)
    return -1;
  fd = c->fds[0];
  memmove (c->fds, c->fds + 1, (size_t) (c->n_fds - 1) * sizeof (int));
  c->n_fds--;
  return fd;
}

/* ---------------------------------------------------------------- events */

static WsbClientStatus
ring_start (WsbClient *c, const Wsbridge__V1__Event *ev)
{
  const Wsbridge__V1__RingStart *rs = ev->ring;
  struct WsbcRingSub *s = find (c, ev->subscription_id);
  int ring_fd = take_fd (c), wake_fd = take_fd (c);
  struct epoll_event pev = { .events = EPOLLIN };
  const char *why = NULL;
  struct stat st;

  if (ring_fd < 0 || wake_fd < 0)
    why = "without its descriptors";
  else if (!s || s->wake_fd >= 0)
    why = "for a subscription that has no ring to start";
  else if (fstat (ring_fd, &st) < 0
           || (uint64_t) st.st_size != wsb_ring_file_bytes (rs->data_bytes))
    why = "whose size does not match";
  else if ((s->map = mmap (NULL, (size_t) st.st_size, PROT_READ, MAP_SHARED, ring_fd, 0))
           == MAP_FAILED)
    {
      s->map = NULL;
      why = "that cannot be mapped";
    }
  else
    {
      s->map_len = (size_t) st.st_size;
      if (!wsb_ring_reader_init (&s->reader, s->map, s->map_len, rs->start_pos, rs->last_seq, &why))
        ;
      else if (s->reader.epoch != rs->epoch)
        why = "of another epoch";
    }
  if (ring_fd >= 0)
    close (ring_fd);
  if (!why)
    {
      pev.data.u64 = ev->subscription_id;
      if (epoll_ctl (c->epfd, EPOLL_CTL_ADD, wake_fd, &pev) < 0)
        why = "whose eventfd cannot be polled";
    }
  if (why)
    {
      if (wake_fd >= 0)
        close (wake_fd);
      return wsbc_fail (c, WSB_CLIENT_ERR_PROTOCOL, 0,
                        "wsbridged sent a ring for subscription %llu %s",
                        (unsigned long long) ev->subscription_id, why);
    }
  s->wake_fd = wake_fd;
  s->epoch = rs->epoch;
  return WSB_CLIENT_OK;
}

/* Keeps ev (a message or a gap of a ring subscription) for when the ring
 * gets to its place. */
static WsbClientStatus
park (WsbClient *c, struct WsbcRingSub *s, const Wsbridge__V1__Event *ev)
{
  size_t len = wsbridge__v1__event__get_packed_size (ev);
  struct Parked *p = malloc (sizeof *p + len), **tail;

  if (!p)
    return wsbc_nomem (c);
  p->state = ev->event_case == WSBRIDGE__V1__EVENT__EVENT_STATE;
  if (ev->event_case == WSBRIDGE__V1__EVENT__EVENT_MESSAGE)
    p->from_seq = p->to_seq = ev->message->seq;
  else if (p->state)
    p->from_seq = p->to_seq = ev->state->status ? ev->state->status->last_seq : 0;
  else
    {
      p->from_seq = ev->gap->from_seq;
      p->to_seq = ev->gap->to_seq;
    }
  p->len = wsbridge__v1__event__pack (ev, p->data);
  p->next = NULL;
  for (tail = &s->parked; *tail; tail = &(*tail)->next)
    ;
  *tail = p;
  return WSB_CLIENT_OK;
}

/* Unlinks *pp and delivers it. */
static WsbClientStatus
deliver_unlinked (WsbClient *c, struct Parked **pp)
{
  struct Parked *p = *pp;
  Wsbridge__V1__Event *ev = wsbridge__v1__event__unpack (NULL, p->len, p->data);
  WsbClientStatus st;

  *pp = p->next;
  free (p);
  if (!ev)
    return wsbc_nomem (c);
  st = wsbc_deliver_event (c, ev);
  wsbridge__v1__event__free_unpacked (ev, NULL);
  return st;
}

/* The parked state changes that came before the message after upto. */
static WsbClientStatus
release_states (WsbClient *c, struct WsbcRingSub *s, uint64_t upto)
{
  WsbClientStatus st = WSB_CLIENT_OK;
  uint64_t id = s->id;

  while (!st && s->parked && s->parked->state && s->parked->to_seq <= upto)
    {
      st = deliver_unlinked (c, &s->parked);
      if (!(s = find (c, id))) /* unsubscribed by the callback */
        break;
    }
  return st;
}

/* Delivers the parked message (or gap) that stands for seq, if one came. */
static bool
deliver_parked (WsbClient *c, struct WsbcRingSub *s, uint64_t seq, WsbClientStatus *st)
{
  uint64_t id = s->id;

  *st = release_states (c, s, seq - 1);
  if (*st || !(s = find (c, id)))
    return true;
  for (struct Parked **pp = &s->parked; *pp; pp = &(*pp)->next)
    if (!(*pp)->state && (*pp)->from_seq <= seq && seq <= (*pp)->to_seq)
      {
        *st = deliver_unlinked (c, pp);
        return true;
      }
  return false;
}

static void
drop_parked_upto (struct WsbcRingSub *s, uint64_t seq)
{
  for (struct Parked **pp = &s->parked; *pp;)
    if (!(*pp)->state && (*pp)->to_seq <= seq)
      {
        struct Parked *p = *pp;

        *pp = p->next;
        free (p);
      }
    else
      pp = &(*pp)->next;
}

bool
wsbc_ring_event (WsbClient *c, const Wsbridge__V1__Event *ev, WsbClientStatus *st)
{
  struct WsbcRingSub *s;

  *st = WSB_CLIENT_OK;
  if (ev->event_case == WSBRIDGE__V1__EVENT__EVENT_RING)
    {
      *st = ring_start (c, ev);
      return true;
    }
  if (ev->event_case != WSBRIDGE__V1__EVENT__EVENT_MESSAGE
      && ev->event_case != WSBRIDGE__V1__EVENT__EVENT_GAP
      && ev->event_case != WSBRIDGE__V1__EVENT__EVENT_STATE)
    return false;
  s = ev->subscription_id ? find (c, ev->subscription_id) : NULL;
  if (!s || s->wake_fd < 0)
    return false; /* no ring (yet): the socket's own order */
  /* A state change goes after the ring's messages up to its last seq. */
  if (ev->event_case == WSBRIDGE__V1__EVENT__EVENT_STATE)
    {
      if (!s->parked && ev->state->status && ev->state->status->last_seq <= s->reader.last_seq)
        return false;
      *st = park (c, s, ev);
      return true;
    }
  /* A ring subscription's messages on the socket are those too large for
   * the ring: each goes where its "elsewhere" record stands. */
  if (s->waiting
      && (ev->event_case == WSBRIDGE__V1__EVENT__EVENT_MESSAGE
              ? ev->message->seq == s->waiting_seq
              : ev->gap->from_seq <= s->waiting_seq && s->waiting_seq <= ev->gap->to_seq))
    {
      s->waiting = false;
      return false; /* deliver it now; the ring goes on after it */
    }
  *st = park (c, s, ev);
  return true;
}

static bool
wanted (const struct WsbcRingSub *s, const WsbRingRecord *rec)
{
  if (strcmp (s->channel, "*") == 0)
    return true;
  return rec->channel_len == strlen (s->channel)
         && memcmp (rec->channel, s->channel, rec->channel_len) == 0;
}

static WsbClientStatus
deliver_gap (WsbClient *c, struct WsbcRingSub *s, uint64_t from, uint64_t to)
{
  Wsbridge__V1__Event ev = WSBRIDGE__V1__EVENT__INIT;
  Wsbridge__V1__Gap gap = WSBRIDGE__V1__GAP__INIT;

  gap.session = s->session;
  gap.channel = s->channel;
  gap.from_seq = from;
  gap.to_seq = to;
  gap.epoch = s->epoch;
  ev.subscription_id = s->id;
  ev.event_case = WSBRIDGE__V1__EVENT__EVENT_GAP;
  ev.gap = &gap;
  return wsbc_deliver_event (c, &ev);
}

static WsbClientStatus
deliver_record (WsbClient *c, struct WsbcRingSub *s, const WsbRingRecord *rec)
{
  Wsbridge__V1__Event ev = WSBRIDGE__V1__EVENT__INIT;
  Wsbridge__V1__Message msg = WSBRIDGE__V1__MESSAGE__INIT;
  char channel[256]; /* the daemon's channel names have at most 255 bytes */

  if (rec->channel_len == 0)
    strcpy (channel, "*");
  else
    {
      size_t n = rec->channel_len < sizeof channel - 1 ? rec->channel_len : sizeof channel - 1;

      memcpy (channel, rec->channel, n);
      channel[n] = '\0';
    }
  msg.session = s->session;
  msg.channel = channel;
  msg.seq = rec->seq;
  msg.epoch = s->epoch;
  msg.time_us = rec->time_us;
  msg.binary = rec->binary;
  msg.data.data = (uint8_t *) rec->data;
  msg.data.len = rec->len;
  ev.subscription_id = s->id;
  ev.event_case = WSBRIDGE__V1__EVENT__EVENT_MESSAGE;
  ev.message = &msg;
  return wsbc_deliver_event (c, &ev);
}

/* Everything the ring of s holds now, unless it waits for a socket
 * message. */
static WsbClientStatus
drain_one (WsbClient *c, struct WsbcRingSub *s)
{
  uint64_t count;
  WsbClientStatus st = WSB_CLIENT_OK;

  if (read (s->wake_fd, &count, sizeof count) < 0 && errno != EAGAIN)
    return wsbc_fail (c, WSB_CLIENT_ERR_IO, 0, "reading a ring's eventfd: %s", strerror (errno));
  while (!s->waiting && !st && !c->stop)
    {
      WsbRingRecord rec;
      WsbRingStatus rs = wsb_ring_next (&s->reader, &rec);
      uint64_t id = s->id;

      if (rs == WSB_RING_EMPTY)
        {
          st = release_states (c, s, s->reader.last_seq);
          break;
        }
      if (rs == WSB_RING_CORRUPT)
        return wsbc_fail (c, WSB_CLIENT_ERR_PROTOCOL, 0,
                          "the ring of subscription %llu breaks its layout",
                          (unsigned long long) s->id);
      st = release_states (c, s, rec.seq - 1);
      if (st || !(s = find (c, id)))
        break;
      if (rec.lost_from)
        {
          drop_parked_upto (s, rec.lost_to); /* inside the gap */
          st = deliver_gap (c, s, rec.lost_from, rec.lost_to);
        }
      /* A callback may have unsubscribed it. */
      if (st || !(s = find (c, id)))
        break;
      if (!wanted (s, &rec))
        continue;
      if (rs == WSB_RING_ELSEWHERE)
        {
          /* Its message comes on the socket: came already, or wait. */
          if (deliver_parked (c, s, rec.seq, &st))
            {
              if (!(s = find (c, id)))
                break;
              continue;
            }
          s->waiting = true;
          s->waiting_seq = rec.seq;
          break;
        }
      st = deliver_record (c, s, &rec);
      if (!(s = find (c, id)))
        break;
    }
  return st ? st : c->fatal;
}

WsbClientStatus
wsbc_ring_drain (WsbClient *c)
{
  WsbClientStatus st = WSB_CLIENT_OK;

  if (c->draining || !c->ring_subs)
    return WSB_CLIENT_OK;
  c->draining = true;
  for (struct WsbcRingSub *s = c->ring_subs; s && !st && !c->stop;)
    {
      struct WsbcRingSub *next = s->next;
      uint64_t next_id = next ? next->id : 0;

      if (s->wake_fd >= 0)
        st = drain_one (c, s);
      /* Callbacks may have unsubscribed anything: go on by id. */
      s = next_id ? find (c, next_id) : NULL;
    }
  c->draining = false;
  return st;
}

bool
wsbc_ring_wait (WsbClient *c, int timeout_ms)
{
  struct epoll_event ev;

  if (c->epfd < 0)
    return false;
  return epoll_wait (c->epfd, &ev, 1, timeout_ms) > 0;
}
