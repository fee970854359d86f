/* Upstream subscription frames (pure logic): subscribe_template and
 * unsubscribe_template with "{channel}" replaced by the channel. */
#pragma once

#include <glib.h>

/* The placeholder a template must hold at least once. */
#define WSB_TEMPLATE_PLACEHOLDER "{channel}"

/* A template must be valid UTF-8 and hold "{channel}" at least once. The
 * error (WSB_ERROR_INVALID_ARGUMENT) names the problem. */
gboolean wsb_template_check (const char *tmpl, GError **error);

/* tmpl with every "{channel}" replaced by channel escaped as the inside of a
 * JSON string (wsb_json_escape(), common/json-text.h): '"' and '\' and
 * control characters are escaped, other UTF-8 is kept as is, so
 * {"op":"subscribe","channel":"{channel}"} stays valid JSON. Newly
 * allocated; NULL when channel is not valid UTF-8 (a valid channel name
 * always is). */
char *wsb_template_fill (const char *tmpl, const char *channel);
