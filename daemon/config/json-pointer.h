/* RFC 6901 JSON pointers as the configuration takes them (channel_key,
 * resume_pointer, resume_filter), checked here and compiled by the hub's
 * router (router.h); and channel names (channels=, subscriptions). Pure. */
#pragma once

#include <glib.h>

/* Checks an RFC 6901 pointer: non-empty, starts with '/', '~' only as "~0"
 * or "~1", valid UTF-8. The error (WSB_ERROR_INVALID_ARGUMENT) names the
 * problem. */
gboolean wsb_json_pointer_check (const char *pointer, GError **error);

/* The longest channel name, in bytes. */
#define WSB_CHANNEL_MAX_BYTES 255

/* Channel names: 1-255 bytes of valid UTF-8 without control characters
 * (below 0x20, and 0x7f); len bytes of name are checked, so an embedded NUL
 * is a control character. The error (WSB_ERROR_INVALID_ARGUMENT) starts with
 * "invalid channel name: ". */
gboolean wsb_channel_name_check (const char *name, gsize len, GError **error);
