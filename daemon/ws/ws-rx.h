/* The receive side of a WebSocket client connection (RFC 6455 §5-7,
 * RFC 7692), pure logic: bytes from the server in, whole messages out.
 * It checks every rule a client must enforce (unmasked frames, opcodes,
 * RSV bits, control frame limits, fragmentation order, UTF-8 of text, the
 * close frame's code and reason, max_message_bytes), reassembles
 * fragmented messages and inflates compressed ones. No I/O: the session
 * feeds what it reads and the fuzzers feed anything. */
#pragma once

#include <glib.h>

#include "ws-deflate.h"

/* Bytes kept free in front of a reassembled message, for whoever keeps it
 * to write its own head there (the hub's Message encoding, at most about
 * 400 bytes) instead of copying the payload behind a head. */
#define WSB_WS_RX_HEADROOM 512

/* A whole inbound message on its way up (ws-rx, the WebSocket client, the
 * session, the hub); data is valid during the call only. */
typedef struct
{
  const guint8 *data;
  gsize len;
  gboolean binary;
  /* Not NULL for a large reassembled or inflated message: the heap block
   * holding it, data being WSB_WS_RX_HEADROOM bytes into it. A receiver
   * that keeps the message may take the block instead of copying it (it
   * sets block to NULL and g_frees the block when done); otherwise the block
   * stays the sender's. Small messages come without (their buffer is kept
   * for the next one, or they were read in place). */
  guint8 *block;
} WsbWsMessage;

typedef struct
{
  void (*message) (WsbWsMessage *msg, gpointer user_data);
  void (*ping) (const guint8 *data, gsize len, gpointer user_data);
  void (*pong) (const guint8 *data, gsize len, gpointer user_data);
} WsbWsRxEvents;

typedef enum
{
  WSB_WS_RX_MORE,   /* everything was consumed; feed more */
  WSB_WS_RX_CLOSED, /* the server sent a close frame: answer it with the reply code */
  WSB_WS_RX_FAILED, /* the server broke the protocol: close with the reply code */
} WsbWsRxStatus;

typedef struct _WsbWsRx WsbWsRx;

/* inflater: the connection's permessage-deflate state (taken over), or NULL
 * when it was not negotiated. */
WsbWsRx *wsb_ws_rx_new (guint64 max_message_bytes, WsbInflater *inflater,
                        const WsbWsRxEvents *events, gpointer user_data);
void wsb_ws_rx_free (WsbWsRx *rx);

/* Consumes data. Once CLOSED or FAILED, the status sticks and nothing more
 * is read. */
WsbWsRxStatus wsb_ws_rx_feed (WsbWsRx *rx, const guint8 *data, gsize len);

/* After CLOSED or FAILED: the close code to send to the server, and what
 * happened, for the session's state reason. */
guint16 wsb_ws_rx_reply_code (WsbWsRx *rx);
const char *wsb_ws_rx_reason (WsbWsRx *rx);
/* After CLOSED: the server's own close code, 0 when it sent none, and its
 * reason as shown (valid UTF-8, control characters replaced; "" without). */
guint16 wsb_ws_rx_peer_code (WsbWsRx *rx);
const char *wsb_ws_rx_peer_reason (WsbWsRx *rx);

/* Stops delivering: a feed in progress returns as soon as the current
 * callback does (the owner is going away). */
void wsb_ws_rx_stop (WsbWsRx *rx);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsbWsRx, wsb_ws_rx_free)
