/* RFC 6901 JSON pointers into a message, as wsbridge-notify's --summary,
 * --body, --icon-key, --urgency-key and --url-key take them (pure logic, no
 * I/O). The pointers are checked and compiled by common/json-pointer.c, as
 * the daemon's channel_key is; here they are followed through a json-glib
 * tree, which the client already has, and the value becomes display text. */
#pragma once

#include <json-glib/json-glib.h>

#include "json-pointer.h"

typedef struct _WsbNotifyPointer WsbNotifyPointer;

/* Compiles a pointer (wsb_json_pointer_new(): "/" followed by reference
 * tokens, '~' only as "~0" ('~') or "~1" ('/'), valid UTF-8). NULL and
 * G_OPTION_ERROR_BAD_VALUE with its message when it is not one. */
WsbNotifyPointer *wsb_notify_pointer_new (const char *text, GError **error);
void wsb_notify_pointer_free (WsbNotifyPointer *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsbNotifyPointer, wsb_notify_pointer_free)

/* The pointer as given. */
const char *wsb_notify_pointer_text (const WsbNotifyPointer *p);

/* The value the pointer names in root, as newly allocated text: a string as
 * decoded, an integer in decimal, any other number as the daemon routes it
 * (wsb_json_format_double(), json-text.h: 100.0 → "100", 1e300 → "1e+300"),
 * a boolean as "true" or "false". NULL when the
 * pointer does not resolve or names null, an object or an array. Array tokens
 * are decimal indexes without leading zeros; "-" never resolves. */
char *wsb_notify_pointer_get (const WsbNotifyPointer *p, JsonNode *root);

/* The node the pointer names in root (owned by root), whatever it holds, or
 * NULL when the pointer does not resolve. */
JsonNode *wsb_notify_pointer_find (const WsbNotifyPointer *p, JsonNode *root);

/* A condition on a message, "PTR=VALUE": the value the pointer names,
 * as wsb_notify_pointer_get() gives it, equals VALUE. The pointer ends at the
 * first '='. */
typedef struct _WsbNotifyMatch WsbNotifyMatch;

WsbNotifyMatch *wsb_notify_match_new (const char *text, GError **error);
void wsb_notify_match_free (WsbNotifyMatch *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsbNotifyMatch, wsb_notify_match_free)
const char *wsb_notify_match_text (const WsbNotifyMatch *m);
/* root may be NULL (a message that is no JSON object or array): no match. */
gboolean wsb_notify_match_test (const WsbNotifyMatch *m, JsonNode *root);
