/* RFC 6901 JSON pointers, the one implementation: checked and compiled here
 * for the daemon (channel_key, resume_pointer, resume_filter: its router
 * follows the tokens while it scans a message, daemon/hub/json-scan.h) and
 * for wsbridge-notify (--summary, --body, ...: it follows them through a
 * json-glib tree). Pure logic, no I/O, GLib only. */
#pragma once

#include <glib.h>

#define WSB_JSON_POINTER_ERROR (wsb_json_pointer_error_quark ())
GQuark wsb_json_pointer_error_quark (void);

typedef enum
{
  WSB_JSON_POINTER_ERROR_INVALID, /* the text is not a pointer wsbridge takes */
} WsbJsonPointerError;

/* One reference token, unescaped ("~1" is '/', "~0" is '~', decoded once,
 * left to right: "~01" is "~1"). In an object it names the member key
 * (key_len bytes, NUL-terminated; "" is a key too); in an array the element
 * at index, which is -1 unless the token is "0" or decimal digits without a
 * leading zero ("-", "01", "+1", " 1" and numbers beyond G_MAXSSIZE name no
 * element). */
typedef struct
{
  const char *key;
  gsize key_len;
  gssize index;
} WsbJsonToken;

/* A compiled pointer: its text as given and its tokens, in order. */
typedef struct
{
  char *text;
  guint n_tokens;
  WsbJsonToken *tokens;
} WsbJsonPointer;

/* Checks a pointer as wsbridge takes it: not NULL, non-empty (the pointer ""
 * to a whole document names no field), valid UTF-8, starting with '/', '~'
 * only as "~0" or "~1". The error (WSB_JSON_POINTER_ERROR_INVALID) starts
 * with "invalid JSON pointer" and names the problem. */
gboolean wsb_json_pointer_check (const char *text, GError **error);

/* Compiles a pointer that passes wsb_json_pointer_check(), or returns NULL
 * with its error: "/a~1b/0" gives the tokens "a/b" and "0" (index 0), "/"
 * the one token "". */
WsbJsonPointer *wsb_json_pointer_new (const char *text, GError **error);
void wsb_json_pointer_free (WsbJsonPointer *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsbJsonPointer, wsb_json_pointer_free)
