/* Channel names as the configuration (channels=), the subscriptions and the
 * router take them. Pure. The JSON pointers that find a channel in a
 * message are common/json-pointer.h's. */
#pragma once

#include <glib.h>

/* The longest channel name, in bytes. */
#define WSB_CHANNEL_MAX_BYTES 255

/* Channel names: 1-255 bytes of valid UTF-8 without control characters
 * (below 0x20, and 0x7f); len bytes of name are checked, so an embedded NUL
 * is a control character. The error (WSB_ERROR_INVALID_ARGUMENT) starts with
 * "invalid channel name: ". */
gboolean wsb_channel_name_check (const char *name, gsize len, GError **error);
