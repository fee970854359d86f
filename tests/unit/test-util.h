/* What the C unit tests share: temporary directories and waiting on the
 * default main context. A failure fails the test (g_assert), so callers need
 * not check. */
#pragma once

#include <glib.h>

/* A new private directory in the temporary directory, named from TMPL
 * ("name-XXXXXX", as for g_dir_make_tmp()); free it with g_free(). */
char *wsb_test_tmp_dir (const char *tmpl);

/* Removes PATH and everything below it (a missing PATH is no error). */
void wsb_test_rm_rf (const char *path);

/* Dispatches what is ready on the default main context, without blocking. */
void wsb_test_drain (void);

/* Runs the default main context for MS milliseconds. */
void wsb_test_run_ms (guint ms);

typedef gboolean (*WsbTestCondition) (gpointer data);

/* Iterates the default main context until CONDITION (DATA) is true; TRUE
 * then, FALSE once TIMEOUT_MS have passed without it. The context wakes at
 * least every 10 ms, so a condition that no source reports (a file that
 * appears) is seen too. */
gboolean wsb_test_iterate_until (WsbTestCondition condition, gpointer data, guint timeout_ms);
