/* File descriptors kept for the API, so that upstream connections can never
 * take the last ones: with every fd spent on sessions (a user creating
 * hundreds of them), root could not connect to remove them. The daemon
 * holds WSB_FD_RESERVE descriptors (or fewer under a tiny RLIMIT_NOFILE)
 * open on /dev/null; an upstream connection may start only while all of
 * them are held, and the API's accept, when out of descriptors, gives one
 * back and accepts in its place. */
#pragma once

#include <glib.h>

#define WSB_FD_RESERVE 64

/* Raises the soft RLIMIT_NOFILE to the hard one and opens the reserve. */
void wsb_fd_reserve_init (void);
/* Whether an upstream connection may take a descriptor now (the reserve is
 * full, refilled first); if not, error says so (and it is logged, at most
 * once a minute with a count). */
gboolean wsb_fd_reserve_allows_upstream (GError **error);
/* For accept(2) that found no descriptor: gives one of the reserve back;
 * FALSE when none is left. */
gboolean wsb_fd_reserve_release (void);
void wsb_fd_reserve_free (void);
