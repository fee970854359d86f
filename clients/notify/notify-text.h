/* Text for a notification (pure logic, no I/O): whatever a feed sends becomes
 * valid UTF-8 without control characters, trimmed to a sane length, and is
 * escaped before it goes where the server reads markup. */
#pragma once

#include <glib.h>

/* Longest summary and body, in characters (code points), "…" included. */
#define WSB_NOTIFY_SUMMARY_MAX_CHARS 120
#define WSB_NOTIFY_BODY_MAX_CHARS 500

/* len bytes of data (-1: NUL-terminated) as display text, newly allocated:
 * invalid UTF-8 and NUL bytes become U+FFFD; tabs and other control
 * characters become spaces, as do line breaks unless multiline (then "\r\n"
 * and "\r" become "\n"); leading and trailing white space goes; text longer
 * than max_chars (at least 2) is cut to max_chars - 1 characters plus "…".
 * Only the first (max_chars + 1) * 4 bytes are read, so a huge message costs
 * no more than a short one. */
char *wsb_notify_text_clean (const char *data, gssize len, guint max_chars, gboolean multiline);

/* text with '&', '<' and '>' as entities: what a server that reads body
 * markup shows as the text itself. Quotes need no escaping outside of
 * attribute values, and not every server knows "&apos;". */
char *wsb_notify_text_escape (const char *text);

/* n in decimal with ',' between groups of three digits ("2,398"), as the
 * notices that count missed messages write it in every locale. */
char *wsb_notify_text_count (guint64 n);
