/* A JSON scanner that builds no tree (pure logic, no I/O, no allocation):
 * it checks that a text is one JSON object or array and finds the value at
 * a path of object keys and array indexes, in one pass over the bytes.
 * The router (router.c) uses it to find a message's channel.
 *
 * What counts as JSON is what jansson 2.14 accepts with JSON_ALLOW_NUL and
 * without JSON_DECODE_ANY (the router used jansson before, and
 * tests/fuzz/fuzz-routing.c checks the two agree): RFC 8259 with strict
 * UTF-8, an object or an array at the top, nothing but white space after it,
 * values nested at most WSB_JSON_SCAN_MAX_DEPTH deep (the top one is at depth
 * 1), no "\u0000" in an object key, and no number too large for a double. */
#pragma once

#include <glib.h>

#include "json-pointer.h"

#define WSB_JSON_SCAN_MAX_DEPTH 2048

typedef enum
{
  WSB_JSON_INVALID, /* the text is not JSON (as above) */
  WSB_JSON_ABSENT,  /* valid; nothing at the path, or not a string or number */
  WSB_JSON_STRING,  /* valid; a string, its text with the quotes in value */
  WSB_JSON_NUMBER,  /* valid; a number, its text in value */
} WsbJsonFound;

typedef struct
{
  const char *value; /* points into the scanned text */
  gsize len;
  gboolean is_integer;      /* a number without fraction or exponent */
  gboolean integers_beyond; /* some integer in the text is outside int64 */
} WsbJsonHit;

/* Scans len bytes of data (they need no NUL terminator) and finds the value
 * at the path of steps, a compiled JSON pointer's tokens (json-pointer.h: in
 * an object the member named key, compared with the member names after their
 * escapes are decoded, in an array the element at index). Of duplicate keys
 * the last one counts, as if each member replaced the one before it. hit is
 * filled for WSB_JSON_STRING and WSB_JSON_NUMBER. */
WsbJsonFound wsb_json_scan (const char *data, gsize len, const WsbJsonToken *steps, guint n_steps,
                            WsbJsonHit *hit);

/* Decodes a string's text as wsb_json_scan found it (quotes included, known
 * to be valid) into out, which holds size bytes. Returns the decoded length,
 * or -1 when it would not fit. Nothing is NUL-terminated; "\u0000" decodes to
 * a NUL byte. */
gssize wsb_json_string_decode (const char *text, gsize len, char *out, gsize size);
