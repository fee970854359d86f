/* "Did you mean …?" for unknown names (configuration keys, CLI commands and
 * options). Pure logic; wsbridgectl compiles this file too. */
#pragma once

#include <glib.h>

/* The candidate closest to word by edit distance, when it is close enough
 * to be a likely typo (at most 2 edits, and fewer than half the letters);
 * NULL otherwise. candidates: a NULL-terminated array. */
const char *wsb_suggest (const char *word, const char *const *candidates);
