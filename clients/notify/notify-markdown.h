/* Markdown bodies (pure logic, no I/O), as Gotify's "text/markdown" messages
 * and ntfy's markdown ones carry them, turned into what a notification body
 * can show: the little markup servers read (<b>, <i>, <a href>) when the
 * server has "body-markup", else plain text. Only inline emphasis, links,
 * code spans, headings and list bullets are understood; everything else
 * shows as written. */
#pragma once

#include <glib.h>

/* text (cleaned display text) rendered: with markup TRUE as body markup in
 * which everything from text is escaped and only the tags above appear
 * (links only for http(s) URLs that wsb_notify_url_check() accepts); with
 * markup FALSE as plain text ("[text](url)" becomes "text (url)"). */
char *wsb_notify_markdown_render (const char *text, gboolean markup);
