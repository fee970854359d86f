/* ntfy's tags convention (pure logic, no I/O): a tag that is an emoji short
 * code ("warning", "rotating_light", "+1": GitHub's gemoji aliases, as ntfy
 * uses them) shows as that emoji before the title; the other tags show as
 * text. */
#pragma once

#include <glib.h>

/* The emoji (UTF-8) that name stands for, or NULL. */
const char *wsb_notify_emoji_lookup (const char *name);

/* For the unit test: the table is in strcmp() order, as bsearch() needs. */
gboolean wsb_notify_emoji_table_sorted (void);
