/* Channel routing (pure logic, no I/O): the channel of an inbound text
 * message is the string or number at the session's channel_key, an RFC 6901
 * JSON pointer. The message is scanned once, building no tree
 * (json-scan.c); BENCHMARKS.md, "Routing cost per message", says why. */
#pragma once

#include <glib.h>

#include "json-pointer.h"



typedef struct _WsbRouter WsbRouter;

/* Compiles the pointer once (NULL and the error of wsb_json_pointer_check
 * when it is not valid). */
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
 * - Other numbers become the fewest significant digits (1 to 17) that read
 *   back as the same double, printed by jansson's json_dumpb: plain decimal
 *   for decimal exponents -4..15 (as Python's repr() does), otherwise as
 *   %g prints those digits; always with a '.' or an 'e', the exponent without '+' or
 *   leading zeros: 1.5 → "1.5", 0.1 → "0.1", 100.0 → "100.0", 1e15 →
 *   "1000000000000000.0", 1e16 → "1e16", 1e-5 → "1e-5", -0.0 → "-0.0".
 *   A number too large for a double (1e400) anywhere makes the message not
 *   JSON; one too small becomes 0 (-1e-400 → "-0.0").
 * - A message holding a raw NUL byte is not JSON and never routes. "\u0000"
 *   inside a string is valid JSON: the message routes, but a channel value
 *   holding it is not a valid channel name. A "\u0000" in an object key
 *   makes the whole message unroutable (jansson refused it).
 * - When the message holds an integer outside the int64 range anywhere,
 *   every number in it counts as a double (as jansson's second parse had
 *   it): a number at the pointer then routes only when it is integral with
 *   magnitude below 2^53 (as an integer: 42 and 42.0 both give "42"), or
 *   not integral (as above). */
char *wsb_router_route (const WsbRouter *r, const char *data, gsize len);
