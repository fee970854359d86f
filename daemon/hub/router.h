/* Channel routing (pure logic, no I/O): the channel of an inbound text
 * message is the string or number at the session's channel_key, an RFC 6901
 * JSON pointer. The message is scanned once, building no tree
 * (json-scan.c); BENCHMARKS.md, "Routing cost per message", says why. */
#pragma once

#include <glib.h>

#include "channel-name.h"
#include "json-pointer.h"

typedef struct _WsbRouter WsbRouter;

/* Compiles the pointer once (wsb_json_pointer_new(): NULL and its error when
 * it is not valid). */
WsbRouter *wsb_router_new (const char *pointer, GError **error);
void wsb_router_free (WsbRouter *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsbRouter, wsb_router_free)

/* The channel of one inbound text message (data need not be NUL-terminated),
 * newly allocated, or NULL when the message is not a JSON object or array,
 * the pointer does not resolve, the value is not a string or a number, or
 * the result is not a valid channel name.
 *
 * - The whole message must be JSON: invalid JSON anywhere, after the routed
 *   field too, means no channel (the scan reads to the end, as a later
 *   duplicate key may replace the channel). What counts as JSON is what
 *   jansson accepted when it parsed for the router (json-scan.h): strict
 *   UTF-8, values nested at most 2048 deep, and the rules below.
 * - Object members are found by exact key (of duplicate keys the last one
 *   counts); array tokens are decimal indexes without leading zeros ("0",
 *   "12", never "01"); "-" never resolves.
 * - Strings are taken as decoded ("a\u00e9" gives "aé").
 * - Integers become their decimal text: 42 gives "42", -7 "-7", -0 "0".
 * - Other numbers become their shortest round-trip text, as JavaScript
 *   writes them (wsb_json_format_double(), common/json-text.h, which
 *   wsbridge-notify uses too): 1.5 → "1.5", 0.1 → "0.1", 100.0 and 1e2 →
 *   "100", 1e20 → "100000000000000000000", 1e21 → "1e+21", 1e-7 → "1e-7",
 *   -0.0 → "0".
 *   A number too large for a double (1e400) anywhere makes the message not
 *   JSON; one too small becomes 0 (-1e-400 → "0").
 * - A message holding a raw NUL byte is not JSON and never routes. "\u0000"
 *   inside a string is valid JSON: the message routes, but a channel value
 *   holding it is not a valid channel name. A "\u0000" in an object key
 *   makes the whole message unroutable (jansson refused it).
 * - When the message holds an integer outside the int64 range anywhere,
 *   every number in it counts as a double (as jansson's second parse had
 *   it): a number at the pointer then routes as above when its magnitude
 *   is below 2^53, and not at all otherwise. */
char *wsb_router_route (const WsbRouter *r, const char *data, gsize len);
