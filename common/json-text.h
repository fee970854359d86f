/* JSON text that wsbridge writes: strings escaped, and the one text of a
 * double that the daemon (a routed channel, daemon/hub/router.c) and
 * wsbridge-notify (a value shown or matched, notify-pointer.c) both use.
 * Pure logic, no I/O, GLib only. */
#pragma once

#include <glib.h>

/* s (NUL-terminated) escaped as the inside of a JSON string, without the
 * quotes, as jansson escapes it: '"' and '\' get a backslash, \b \f \n \r \t
 * their short escapes, other control characters below 0x20 \u00XX (upper
 * case hex); everything else, '/', DEL and non-ASCII included, is kept as it
 * is. Newly allocated; NULL when s is not valid UTF-8. */
char *wsb_json_escape (const char *s);

/* The longest text wsb_json_format_double() writes, NUL included. */
#define WSB_JSON_DOUBLE_BUF_SIZE 32

/* d's text, shortest round trip, as JavaScript's Number.prototype.toString()
 * and JSON.stringify() write it (ECMA-262 Number::toString): the fewest
 * significant digits (1 to 17) that read back as the same double, then
 *   - plain decimal when the decimal exponent is -7 < e < 21, with no ".0"
 *     for an integral value: 100 → "100", 0.1 → "0.1", 1.5 → "1.5",
 *     1e20 → "100000000000000000000", 2^53 → "9007199254740992",
 *     1e-6 → "0.000001";
 *   - otherwise one digit, the others after a '.', and a signed exponent:
 *     1e21 → "1e+21", 1.5e300 → "1.5e+300", 1e-7 → "1e-7", 5e-324 → "5e-324";
 *   - 0 and -0 both → "0" (as JavaScript prints -0, and as an integer -0
 *     routes).
 * Written into buf, which holds WSB_JSON_DOUBLE_BUF_SIZE bytes; returns buf.
 * NaN and the infinities, which no JSON holds, give "NaN", "Infinity" and
 * "-Infinity". */
char *wsb_json_format_double (double d, char *buf);
