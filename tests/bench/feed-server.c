/* feed-server: the WebSocket upstream of the benchmarks (BENCHMARKS.md).
 *
 * A single-threaded epoll server in plain C that packs many frames into each
 * write(), as the feeds DESIGN.md §7 has in mind do, so that the clients
 * under test, not the server, set the pace. It speaks RFC 6455 without
 * extensions (no permessage-deflate), answers pings and close frames, and
 * counts the frames its clients send (for round trips).
 *
 * Every message carries its send time, CLOCK_MONOTONIC in nanoseconds, read
 * once per write() and shared by the frames of that write:
 *   json    {"ch":"c3","t":1234567890,"pad":"xxxx"}  (text; padded to --size)
 *   text    t=1234567890 xxxx                          (text, not JSON)
 *   binary  8 bytes little-endian time, then filler    (binary)
 * "ch" cycles through c0 .. c(N-1) for --channels N.
 *
 * A burst is --count messages (0: endless) to one client, as fast as the
 * socket takes them (--rate 0) or paced at --rate messages per second in
 * batches every --batch-us. It starts after the handshake (--start accept) or
 * on the "burst" command (--start stdin, the default).
 *
 * stdout, line by line: "PORT <n>" once listening; unless --quiet,
 * "DONE <conn> <messages> <ns>" when a burst has been written to a socket.
 * stdin commands (one per line; answered on stdout):
 *   burst [N]   start a burst (N messages, default --count) to every open
 *               client not already in one          -> BURST <clients>
 *   stats       -> STATS open=<n> accepted=<n> opened=<n> rx_frames=<n>
 *                  rx_bytes=<n> tx_messages=<n> bursting=<n> refused=<n>
 *   drop        close every connection at once, as a dying server does
 *               (and start a new attempts histogram) -> DROPPED <n>
 *   refuse      from now on reset every new connection before the handshake
 *               (an upstream that is down; still counted) -> REFUSING
 *   serve       accept handshakes again             -> SERVING
 *   attempts    TCP connections accepted per --bucket-ms since the last drop
 *               (or the start)                      -> ATTEMPTS <ms> <n0> <n1> ...
 *   quit        exit 0
 * EOF on stdin (a pipe or a terminal) exits too, so a dead runner leaves no
 * server behind. The fd limit is raised to the hard limit for many clients. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench-meter.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define MAX_HANDSHAKE 8192
#define MAX_RX_FRAME (16u * 1024 * 1024)
#define MAX_EVENTS 256
#define READ_CHUNK 65536

typedef enum
{
  FORMAT_JSON,
  FORMAT_TEXT,
  FORMAT_BINARY,
} Format;

typedef struct
{
  char *host;
  int port;
  int size;
  gint64 count;
  double rate;
  int batch_us;
  Format format;
  int channels;
  gboolean start_on_accept;
  int write_bytes;
  int bucket_ms;
  gboolean quiet;
} Options;

typedef enum
{
  CONN_HANDSHAKE,
  CONN_OPEN,
  CONN_CLOSING, /* flush what is queued, then close */
} ConnState;

typedef struct Conn Conn;
struct Conn
{
  int fd;
  guint64 id;
  ConnState state;
  GByteArray *rx; /* unparsed input; NULL while empty */
  GByteArray *tx; /* output not yet taken by the socket */
  gsize tx_off;
  gboolean polling_out;
  /* The burst in progress. */
  gboolean bursting;
  guint64 burst_total; /* 0: endless */
  guint64 burst_sent;
  gint64 burst_start_ns;
  guint64 msg_index; /* for the channel field */
  gboolean opened;   /* the handshake completed (counted in n_open) */
  gboolean dead;     /* closed; freed after the current batch of events */
  Conn *prev, *next;
};

typedef struct
{
  Options opt;
  int epfd;
  int listen_fd;
  gboolean stdin_watched;
  gboolean refusing;
  Conn *conns;
  GPtrArray *dead; /* closed connections that events of this batch may still name */
  guint64 next_id;
  guint64 n_open, n_accepted, n_opened, n_refused;
  guint64 rx_frames, rx_bytes, tx_messages;
  /* Accepted connections per bucket since the last drop. */
  gint64 attempts_origin_ns;
  GArray *attempts; /* guint32 */
  char *pad;        /* --size bytes of filler */
  char stdin_buf[1024];
  gsize stdin_len;
  gboolean quit;
} Server;

/* Tags for epoll_event.data.ptr besides connections. */
static char listen_tag, stdin_tag;

static gint64
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---------------------------------------------------------------- messages */

static gsize
frame_header (guint8 *p, gboolean binary, gsize len)
{
  p[0] = 0x80 | (binary ? 0x2 : 0x1);
  if (len < 126)
    {
      p[1] = (guint8) len;
      return 2;
    }
  if (len < 65536)
    {
      p[1] = 126;
      p[2] = (guint8) (len >> 8);
      p[3] = (guint8) len;
      return 4;
    }
  p[1] = 127;
  for (int i = 0; i < 8; i++)
    p[2 + i] = (guint8) ((guint64) len >> (56 - 8 * i));
  return 10;
}

/* Decimal digits of v into p; returns how many. */
static gsize
put_u64 (char *p, guint64 v)
{
  char tmp[20];
  gsize n = 0;

  do
    {
      tmp[n++] = (char) ('0' + v % 10);
      v /= 10;
    }
  while (v);
  for (gsize i = 0; i < n; i++)
    p[i] = tmp[n - 1 - i];
  return n;
}

/* The smallest --size each format can honour (with a 20-digit time). */
static int
min_size (const Options *o)
{
  switch (o->format)
    {
      case FORMAT_JSON:
        /* {"ch":"cNNN","t":T,"pad":""} */
        return (int) strlen ("{\"ch\":\"c\",\"t\":,\"pad\":\"\"}") + 10 + 20;
      case FORMAT_TEXT:
        return (int) strlen ("t= ") + 20;
      case FORMAT_BINARY:
      default:
        return 8;
    }
}

/* Appends one complete frame of --size payload bytes stamped t. */
static void
append_message (Server *srv, Conn *c, gint64 t)
{
  const Options *o = &srv->opt;
  gsize size = (gsize) o->size;
  gsize old = c->tx->len;
  guint8 *p;
  char *q;
  gsize n;

  g_byte_array_set_size (c->tx, (guint) (old + 10 + size));
  p = c->tx->data + old;
  n = frame_header (p, o->format == FORMAT_BINARY, size);
  q = (char *) p + n;
  switch (o->format)
    {
      case FORMAT_JSON:
        {
          char *start = q;
          gsize used;
          memcpy (q, "{\"ch\":\"c", 8);
          q += 8;
          q += put_u64 (q, c->msg_index % (guint64) o->channels);
          memcpy (q, "\",\"t\":", 6);
          q += 6;
          q += put_u64 (q, (guint64) t);
          memcpy (q, ",\"pad\":\"", 8);
          q += 8;
          used = (gsize) (q - start) + 2;
          memcpy (q, srv->pad, size - used);
          q += size - used;
          memcpy (q, "\"}", 2);
          break;
        }
      case FORMAT_TEXT:
        {
          char *start = q;
          gsize used;
          *q++ = 't';
          *q++ = '=';
          q += put_u64 (q, (guint64) t);
          *q++ = ' ';
          used = (gsize) (q - start);
          memcpy (q, srv->pad, size - used);
          break;
        }
      case FORMAT_BINARY:
        for (int i = 0; i < 8; i++)
          q[i] = (char) ((guint64) t >> (8 * i));
        memcpy (q + 8, srv->pad, size - 8);
        break;
    }
  g_byte_array_set_size (c->tx, (guint) (old + n + size));
  c->msg_index++;
  c->burst_sent++;
  srv->tx_messages++;
}

static void
append_control (Conn *c, guint8 opcode, const guint8 *payload, gsize len)
{
  guint8 hdr[2] = { (guint8) (0x80 | opcode), (guint8) len };

  g_byte_array_append (c->tx, hdr, 2);
  g_byte_array_append (c->tx, payload, (guint) len);
}

/* ---------------------------------------------------------------- connections */

static void
watch (Server *srv, Conn *c, gboolean out)
{
  struct epoll_event ev = { .events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = c };

  if (c->polling_out == out)
    return;
  c->polling_out = out;
  if (epoll_ctl (srv->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
    bench_die ("epoll_ctl: %s", g_strerror (errno));
}

static void
conn_free (Conn *c)
{
  if (c->rx)
    g_byte_array_unref (c->rx);
  g_byte_array_unref (c->tx);
  g_free (c);
}

/* Closes the connection; the memory goes after the current batch of events. */
static void
conn_close (Server *srv, Conn *c)
{
  epoll_ctl (srv->epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close (c->fd);
  if (c->prev)
    c->prev->next = c->next;
  else
    srv->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  if (c->opened)
    srv->n_open--;
  c->dead = TRUE;
  g_ptr_array_add (srv->dead, c);
}

static void
burst_start (Server *srv, Conn *c, guint64 count)
{
  c->bursting = TRUE;
  c->burst_total = count;
  c->burst_sent = 0;
  c->burst_start_ns = now_ns ();
}

static gboolean
burst_done (const Conn *c)
{
  return c->burst_total && c->burst_sent >= c->burst_total;
}

/* Tops up the output of an unpaced burst to about --write-bytes. */
static void
fill_unpaced (Server *srv, Conn *c)
{
  gint64 t = now_ns ();

  while (!burst_done (c) && c->tx->len - c->tx_off < (gsize) srv->opt.write_bytes)
    append_message (srv, c, t);
}

/* Writes what is queued; FALSE when the connection is gone. */
static gboolean
flush (Server *srv, Conn *c)
{
  for (;;)
    {
      gsize pending = c->tx->len - c->tx_off;
      ssize_t n;

      if (pending == 0)
        {
          g_byte_array_set_size (c->tx, 0);
          c->tx_off = 0;
          if (c->bursting && srv->opt.rate <= 0 && !burst_done (c))
            {
              fill_unpaced (srv, c);
              continue;
            }
          break;
        }
      n = send (c->fd, c->tx->data + c->tx_off, pending, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        {
          watch (srv, c, TRUE);
          return TRUE;
        }
      if (n < 0)
        {
          conn_close (srv, c);
          return FALSE;
        }
      c->tx_off += (gsize) n;
      /* One --write-bytes chunk per turn, so that other clients get theirs. */
      if (c->tx_off == c->tx->len && c->bursting && srv->opt.rate <= 0 && !burst_done (c))
        {
          g_byte_array_set_size (c->tx, 0);
          c->tx_off = 0;
          fill_unpaced (srv, c);
          watch (srv, c, TRUE);
          return TRUE;
        }
    }
  watch (srv, c, FALSE);
  if (c->bursting && burst_done (c))
    {
      c->bursting = FALSE;
      if (!srv->opt.quiet)
        printf ("DONE %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %" G_GINT64_FORMAT "\n", c->id,
                c->burst_sent, now_ns () - c->burst_start_ns);
    }
  if (c->state == CONN_CLOSING)
    {
      conn_close (srv, c);
      return FALSE;
    }
  return TRUE;
}

static void
send_http_error (Conn *c, const char *status)
{
  g_autofree char *resp
      = g_strdup_printf ("HTTP/1.1 %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", status);

  g_byte_array_append (c->tx, (const guint8 *) resp, (guint) strlen (resp));
  c->state = CONN_CLOSING;
}

/* The value of header NAME in the request head (NUL-terminated), or NULL. */
static char *
header_value (const char *head, const char *name)
{
  gsize nlen = strlen (name);

  for (const char *line = strstr (head, "\r\n"); line && line[2]; line = strstr (line + 2, "\r\n"))
    {
      const char *l = line + 2, *end = strstr (l, "\r\n");
      if (!end)
        break;
      if ((gsize) (end - l) > nlen && g_ascii_strncasecmp (l, name, nlen) == 0 && l[nlen] == ':')
        return g_strstrip (g_strndup (l + nlen + 1, (gsize) (end - l) - nlen - 1));
    }
  return NULL;
}

static gboolean
header_has_token (const char *value, const char *token)
{
  g_auto (GStrv) parts = value ? g_strsplit (value, ",", -1) : NULL;

  for (guint i = 0; parts && parts[i]; i++)
    if (g_ascii_strcasecmp (g_strstrip (parts[i]), token) == 0)
      return TRUE;
  return FALSE;
}

/* Handles the upgrade request once its head is complete; FALSE when the
 * connection is gone. */
static gboolean
handshake (Server *srv, Conn *c)
{
  guint8 *end = memmem (c->rx->data, c->rx->len, "\r\n\r\n", 4);
  g_autofree char *head = NULL, *key = NULL, *upgrade = NULL, *connection = NULL;
  g_autofree char *accept = NULL, *resp = NULL;
  g_autoptr (GChecksum) sha1 = NULL;
  guint8 digest[20];
  gsize dlen = sizeof digest;
  gsize head_len;

  if (!end)
    {
      if (c->rx->len > MAX_HANDSHAKE)
        {
          send_http_error (c, "431 Request Header Fields Too Large");
          return flush (srv, c);
        }
      return TRUE;
    }
  head_len = (gsize) (end - c->rx->data) + 4;
  head = g_strndup ((const char *) c->rx->data, head_len);
  g_byte_array_remove_range (c->rx, 0, (guint) head_len);
  key = header_value (head, "Sec-WebSocket-Key");
  upgrade = header_value (head, "Upgrade");
  connection = header_value (head, "Connection");
  if (!g_str_has_prefix (head, "GET ") || !key || !*key || !upgrade
      || g_ascii_strcasecmp (upgrade, "websocket") != 0
      || !header_has_token (connection, "upgrade"))
    {
      send_http_error (c, "400 Bad Request");
      return flush (srv, c);
    }
  sha1 = g_checksum_new (G_CHECKSUM_SHA1);
  g_checksum_update (sha1, (const guchar *) key, (gssize) strlen (key));
  g_checksum_update (sha1, (const guchar *) WS_GUID, (gssize) strlen (WS_GUID));
  g_checksum_get_digest (sha1, digest, &dlen);
  accept = g_base64_encode (digest, dlen);
  resp = g_strdup_printf ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                          accept);
  g_byte_array_append (c->tx, (const guint8 *) resp, (guint) strlen (resp));
  c->state = CONN_OPEN;
  c->opened = TRUE;
  srv->n_open++;
  srv->n_opened++;
  if (srv->opt.start_on_accept)
    burst_start (srv, c, (guint64) srv->opt.count);
  if (c->bursting && srv->opt.rate <= 0)
    fill_unpaced (srv, c);
  return flush (srv, c);
}

static void
protocol_close (Conn *c, guint16 code)
{
  guint8 payload[2] = { (guint8) (code >> 8), (guint8) code };

  c->bursting = FALSE;
  append_control (c, 0x8, payload, 2);
  c->state = CONN_CLOSING;
}

/* Parses the complete client frames buffered. */
static void
parse_frames (Server *srv, Conn *c)
{
  const guint8 *p = c->rx->data;
  gsize avail = c->rx->len, used = 0;

  while (c->state == CONN_OPEN && avail - used >= 2)
    {
      const guint8 *f = p + used;
      gsize left = avail - used, hlen = 2, len = f[1] & 0x7f;
      guint8 opcode = f[0] & 0x0f;
      gboolean fin = (f[0] & 0x80) != 0;
      guint8 payload[125];

      if (!(f[1] & 0x80))
        {
          protocol_close (c, 1002); /* client frames must be masked */
          break;
        }
      if (len == 126)
        {
          if (left < 4)
            break;
          len = (gsize) f[2] << 8 | f[3];
          hlen = 4;
        }
      else if (len == 127)
        {
          if (left < 10)
            break;
          len = 0;
          for (int i = 0; i < 8; i++)
            len = len << 8 | f[2 + i];
          hlen = 10;
        }
      if (len > MAX_RX_FRAME)
        {
          protocol_close (c, 1009);
          break;
        }
      if (left < hlen + 4 + len)
        break;
      if (opcode >= 0x8)
        {
          const guint8 *mask = f + hlen;
          if (len > sizeof payload || !fin)
            {
              protocol_close (c, 1002);
              break;
            }
          for (gsize i = 0; i < len; i++)
            payload[i] = f[hlen + 4 + i] ^ mask[i % 4];
          if (opcode == 0x9)
            append_control (c, 0xA, payload, len);
          else if (opcode == 0x8)
            {
              append_control (c, 0x8, payload, len >= 2 ? 2 : 0);
              c->bursting = FALSE;
              c->state = CONN_CLOSING;
            }
        }
      else
        {
          srv->rx_bytes += len;
          if (fin)
            srv->rx_frames++;
        }
      used += hlen + 4 + len;
    }
  g_byte_array_remove_range (c->rx, 0, (guint) used);
}

static void
on_readable (Server *srv, Conn *c)
{
  guint8 buf[READ_CHUNK];
  ssize_t n = recv (c->fd, buf, sizeof buf, 0);

  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n <= 0)
    {
      conn_close (srv, c);
      return;
    }
  if (c->state == CONN_CLOSING)
    return; /* ignore what comes after our close */
  if (!c->rx)
    c->rx = g_byte_array_sized_new ((guint) n);
  g_byte_array_append (c->rx, buf, (guint) n);
  if (c->state == CONN_HANDSHAKE)
    {
      if (!handshake (srv, c))
        return;
      if (c->state != CONN_OPEN)
        goto out;
    }
  parse_frames (srv, c);
  if (!flush (srv, c))
    return;
out:
  if (c->rx && c->rx->len == 0)
    g_clear_pointer (&c->rx, g_byte_array_unref);
}

static void
count_attempt (Server *srv)
{
  guint bucket = (guint) ((now_ns () - srv->attempts_origin_ns) / 1000000 / srv->opt.bucket_ms);
  guint32 zero = 0;

  while (srv->attempts->len <= bucket)
    g_array_append_val (srv->attempts, zero);
  g_array_index (srv->attempts, guint32, bucket)++;
}

static void
on_accept (Server *srv)
{
  for (;;)
    {
      int fd = accept4 (srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
      struct epoll_event ev = { .events = EPOLLIN };
      int one = 1;
      Conn *c;

      if (fd < 0)
        {
          if (errno == EMFILE || errno == ENFILE)
            fprintf (stderr, "feed-server: accept: %s\n", g_strerror (errno));
          return;
        }
      srv->n_accepted++;
      count_attempt (srv);
      if (srv->refusing)
        {
          struct linger lg = { .l_onoff = 1, .l_linger = 0 };
          setsockopt (fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
          close (fd); /* RST, as if nothing listened */
          srv->n_refused++;
          continue;
        }
      setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      c = g_new0 (Conn, 1);
      c->fd = fd;
      c->id = ++srv->next_id;
      c->tx = g_byte_array_new ();
      c->next = srv->conns;
      if (srv->conns)
        srv->conns->prev = c;
      srv->conns = c;
      ev.data.ptr = c;
      if (epoll_ctl (srv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        bench_die ("epoll_ctl: %s", g_strerror (errno));
    }
}

/* ---------------------------------------------------------------- pacing */

/* Adds the messages due by now to every paced burst; returns the ms until
 * the next batch (-1: none). */
static int
pace (Server *srv)
{
  gint64 t = now_ns ();
  gboolean any = FALSE;

  for (Conn *c = srv->conns, *next; c; c = next)
    {
      guint64 due;
      next = c->next;
      if (!c->bursting || c->state != CONN_OPEN)
        continue;
      due = (guint64) ((double) (t - c->burst_start_ns) * srv->opt.rate / 1e9);
      if (c->burst_total && due > c->burst_total)
        due = c->burst_total;
      if (due > c->burst_sent)
        {
          while (c->burst_sent < due)
            append_message (srv, c, t);
          if (!flush (srv, c))
            continue;
        }
      any = any || c->bursting;
    }
  if (!any)
    return -1;
  return MAX (1, srv->opt.batch_us / 1000);
}

/* ---------------------------------------------------------------- commands */

static void
print_attempts (Server *srv)
{
  printf ("ATTEMPTS %d", srv->opt.bucket_ms);
  for (guint i = 0; i < srv->attempts->len; i++)
    printf (" %u", g_array_index (srv->attempts, guint32, i));
  printf ("\n");
}

static void
command (Server *srv, char *line)
{
  g_auto (GStrv) argv = g_strsplit_set (g_strstrip (line), " \t", 2);
  const char *cmd = argv[0] ? argv[0] : "";

  if (strcmp (cmd, "burst") == 0)
    {
      guint64 count = (guint64) srv->opt.count;
      if (argv[1] && !g_ascii_string_to_unsigned (argv[1], 10, 0, G_MAXUINT64, &count, NULL))
        {
          printf ("ERROR burst: not a message count: %s\n", argv[1]);
          return;
        }
      g_autoptr (GPtrArray) starting = g_ptr_array_new ();
      for (Conn *c = srv->conns; c; c = c->next)
        if (c->state == CONN_OPEN && !c->bursting)
          g_ptr_array_add (starting, c);
      /* BURST comes before any DONE of this burst. */
      printf ("BURST %u\n", starting->len);
      for (guint i = 0; i < starting->len; i++)
        {
          Conn *c = starting->pdata[i];
          if (c->dead)
            continue;
          burst_start (srv, c, count);
          if (srv->opt.rate <= 0)
            flush (srv, c);
        }
    }
  else if (strcmp (cmd, "stats") == 0)
    {
      guint64 bursting = 0;
      for (Conn *c = srv->conns; c; c = c->next)
        bursting += c->bursting;
      printf ("STATS open=%" G_GUINT64_FORMAT " accepted=%" G_GUINT64_FORMAT
              " opened=%" G_GUINT64_FORMAT " rx_frames=%" G_GUINT64_FORMAT
              " rx_bytes=%" G_GUINT64_FORMAT " tx_messages=%" G_GUINT64_FORMAT
              " bursting=%" G_GUINT64_FORMAT " refused=%" G_GUINT64_FORMAT "\n",
              srv->n_open, srv->n_accepted, srv->n_opened, srv->rx_frames, srv->rx_bytes,
              srv->tx_messages, bursting, srv->n_refused);
    }
  else if (strcmp (cmd, "drop") == 0)
    {
      guint64 n = 0;
      while (srv->conns)
        {
          conn_close (srv, srv->conns);
          n++;
        }
      g_array_set_size (srv->attempts, 0);
      srv->attempts_origin_ns = now_ns ();
      printf ("DROPPED %" G_GUINT64_FORMAT "\n", n);
    }
  else if (strcmp (cmd, "refuse") == 0)
    {
      srv->refusing = TRUE;
      printf ("REFUSING\n");
    }
  else if (strcmp (cmd, "serve") == 0)
    {
      srv->refusing = FALSE;
      printf ("SERVING\n");
    }
  else if (strcmp (cmd, "attempts") == 0)
    print_attempts (srv);
  else if (strcmp (cmd, "quit") == 0)
    srv->quit = TRUE;
  else if (*cmd)
    printf ("ERROR unknown command: %s\n", cmd);
}

static void
on_stdin (Server *srv)
{
  ssize_t n = read (STDIN_FILENO, srv->stdin_buf + srv->stdin_len,
                    sizeof srv->stdin_buf - 1 - srv->stdin_len);
  char *nl;

  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n <= 0)
    {
      srv->quit = TRUE;
      return;
    }
  srv->stdin_len += (gsize) n;
  srv->stdin_buf[srv->stdin_len] = '\0';
  while ((nl = strchr (srv->stdin_buf, '\n')))
    {
      *nl = '\0';
      command (srv, srv->stdin_buf);
      srv->stdin_len -= (gsize) (nl + 1 - srv->stdin_buf);
      memmove (srv->stdin_buf, nl + 1, srv->stdin_len + 1);
    }
  if (srv->stdin_len == sizeof srv->stdin_buf - 1)
    {
      printf ("ERROR command line too long\n");
      srv->stdin_len = 0;
    }
}

/* ---------------------------------------------------------------- setup */

static void
parse_options (Options *o, int argc, char **argv)
{
  g_autofree char *format = NULL, *start = NULL;
  gint64 count = 1000000;
  g_autoptr (GError) error = NULL;
  GOptionEntry entries[] = {
    { "host", 0, 0, G_OPTION_ARG_STRING, &o->host, "Address to listen on (127.0.0.1)", "ADDR" },
    { "port", 0, 0, G_OPTION_ARG_INT, &o->port, "Port (0: any free one)", "N" },
    { "size", 0, 0, G_OPTION_ARG_INT, &o->size, "Payload bytes per message (100)", "BYTES" },
    { "count", 0, 0, G_OPTION_ARG_INT64, &count, "Messages per burst, 0 endless (1000000)", "N" },
    { "rate", 0, 0, G_OPTION_ARG_DOUBLE, &o->rate, "Messages per second, 0 unlimited (0)", "N" },
    { "batch-us", 0, 0, G_OPTION_ARG_INT, &o->batch_us, "Pacing interval with --rate (1000)",
      "US" },
    { "format", 0, 0, G_OPTION_ARG_STRING, &format, "json, text or binary (json)", "F" },
    { "channels", 0, 0, G_OPTION_ARG_INT, &o->channels, "Channels c0..cN-1 in \"ch\" (1)", "N" },
    { "start", 0, 0, G_OPTION_ARG_STRING, &start,
      "Start bursts on 'accept' or on the stdin command 'burst' (stdin)", "WHEN" },
    { "write-bytes", 0, 0, G_OPTION_ARG_INT, &o->write_bytes,
      "Bytes per write without --rate (262144)", "BYTES" },
    { "bucket-ms", 0, 0, G_OPTION_ARG_INT, &o->bucket_ms, "Width of the attempts histogram (100)",
      "MS" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &o->quiet, "No DONE lines", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- WebSocket feed for the benchmarks");

  g_set_prgname ("feed-server");
  o->host = g_strdup ("127.0.0.1");
  o->size = 100;
  o->batch_us = 1000;
  o->channels = 1;
  o->write_bytes = 256 * 1024;
  o->bucket_ms = 100;
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    bench_die ("%s", error->message);
  if (argc > 1)
    bench_die ("unexpected argument: %s", argv[1]);
  if (!format || strcmp (format, "json") == 0)
    o->format = FORMAT_JSON;
  else if (strcmp (format, "text") == 0)
    o->format = FORMAT_TEXT;
  else if (strcmp (format, "binary") == 0)
    o->format = FORMAT_BINARY;
  else
    bench_die ("--format: expected json, text or binary, got %s", format);
  if (!start || strcmp (start, "stdin") == 0)
    o->start_on_accept = FALSE;
  else if (strcmp (start, "accept") == 0)
    o->start_on_accept = TRUE;
  else
    bench_die ("--start: expected accept or stdin, got %s", start);
  if (o->port < 0 || o->port > 65535)
    bench_die ("--port: %d is not a port number", o->port);
  if (o->channels < 1 || o->channels > 1000000000)
    bench_die ("--channels: expected 1 to 1000000000, got %d", o->channels);
  if (o->size < min_size (o) || o->size > 64 * 1024 * 1024)
    bench_die ("--size: expected %d to %d bytes for --format %s, got %d", min_size (o),
               64 * 1024 * 1024, format ? format : "json", o->size);
  if (count < 0)
    bench_die ("--count: must be 0 (endless) or more, got %" G_GINT64_FORMAT, count);
  o->count = count;
  if (o->rate < 0 || o->rate > 1e9)
    bench_die ("--rate: expected 0 (unlimited) to 1e9 messages/s, got %g", o->rate);
  if (o->batch_us < 1000 || o->batch_us > 1000000)
    bench_die ("--batch-us: expected 1000 to 1000000, got %d", o->batch_us);
  if (o->write_bytes < 1 || o->write_bytes > 64 * 1024 * 1024)
    bench_die ("--write-bytes: expected 1 to 67108864, got %d", o->write_bytes);
  if (o->bucket_ms < 1 || o->bucket_ms > 60000)
    bench_die ("--bucket-ms: expected 1 to 60000, got %d", o->bucket_ms);
}

static void
raise_fd_limit (void)
{
  struct rlimit rl;

  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
    {
      rl.rlim_cur = rl.rlim_max;
      setrlimit (RLIMIT_NOFILE, &rl);
    }
}

static int
listen_on (const Options *o)
{
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons ((guint16) o->port) };
  socklen_t len = sizeof sa;
  int one = 1;
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

  if (fd < 0)
    bench_die ("socket: %s", g_strerror (errno));
  if (inet_pton (AF_INET, o->host, &sa.sin_addr) != 1)
    bench_die ("--host: not an IPv4 address: %s", o->host);
  setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind (fd, (struct sockaddr *) &sa, sizeof sa) < 0)
    bench_die ("bind %s:%d: %s", o->host, o->port, g_strerror (errno));
  if (listen (fd, 4096) < 0)
    bench_die ("listen: %s", g_strerror (errno));
  if (getsockname (fd, (struct sockaddr *) &sa, &len) < 0)
    bench_die ("getsockname: %s", g_strerror (errno));
  return fd;
}

static void
on_signal (int sig)
{
  _exit (0);
}

int
main (int argc, char **argv)
{
  Server srv = { 0 };
  struct epoll_event ev = { .events = EPOLLIN };
  struct sockaddr_in sa;
  socklen_t len = sizeof sa;

  parse_options (&srv.opt, argc, argv);
  setvbuf (stdout, NULL, _IOLBF, 0);
  signal (SIGPIPE, SIG_IGN);
  signal (SIGTERM, on_signal);
  raise_fd_limit ();
  srv.pad = g_malloc ((gsize) srv.opt.size);
  memset (srv.pad, srv.opt.format == FORMAT_BINARY ? 0xa5 : 'x', (gsize) srv.opt.size);
  srv.attempts = g_array_new (FALSE, TRUE, sizeof (guint32));
  srv.dead = g_ptr_array_new_with_free_func ((GDestroyNotify) conn_free);
  srv.attempts_origin_ns = now_ns ();

  srv.epfd = epoll_create1 (EPOLL_CLOEXEC);
  if (srv.epfd < 0)
    bench_die ("epoll_create1: %s", g_strerror (errno));
  srv.listen_fd = listen_on (&srv.opt);
  ev.data.ptr = &listen_tag;
  if (epoll_ctl (srv.epfd, EPOLL_CTL_ADD, srv.listen_fd, &ev) < 0)
    bench_die ("epoll_ctl: %s", g_strerror (errno));
  /* /dev/null (a regular file) cannot be watched: then there are no commands. */
  ev.data.ptr = &stdin_tag;
  srv.stdin_watched = epoll_ctl (srv.epfd, EPOLL_CTL_ADD, STDIN_FILENO, &ev) == 0;
  if (!srv.stdin_watched && !srv.opt.start_on_accept)
    bench_die ("--start stdin needs stdin to be a pipe or a terminal");
  getsockname (srv.listen_fd, (struct sockaddr *) &sa, &len);
  printf ("PORT %u\n", ntohs (sa.sin_port));

  while (!srv.quit)
    {
      struct epoll_event events[MAX_EVENTS];
      int timeout = srv.opt.rate > 0 ? pace (&srv) : -1;
      int n = epoll_wait (srv.epfd, events, MAX_EVENTS, timeout);

      if (n < 0 && errno != EINTR)
        bench_die ("epoll_wait: %s", g_strerror (errno));
      for (int i = 0; i < n; i++)
        {
          void *tag = events[i].data.ptr;
          if (tag == &listen_tag)
            on_accept (&srv);
          else if (tag == &stdin_tag)
            on_stdin (&srv);
          else
            {
              Conn *c = tag;
              if (c->dead)
                continue;
              if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                on_readable (&srv, c); /* which also flushes */
              else if (events[i].events & EPOLLOUT)
                flush (&srv, c);
            }
        }
      g_ptr_array_set_size (srv.dead, 0);
    }
  return 0;
}
