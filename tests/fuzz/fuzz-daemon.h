/* What the fuzz targets that serve a whole daemon share (fuzz-frames.c over
 * the socket API, fuzz-dbus.c over D-Bus): a process set up once (no DNS,
 * no desktop proxy settings, quiet logs in which a critical aborts, a
 * temporary directory removed at exit, one upstream context), and per input
 * a fresh hub with the sessions of one configuration (fuzz-daemon.c), freed with
 * everything it wrote. Deterministic: the random seed (epochs, jitter) is
 * reset for every hub. */
#pragma once

#include <glib.h>

#include "hub.h"

typedef struct
{
  GMainLoop *loop;
  WsbUpstream *up;
  WsbConfig *cfg;
  char *dir;        /* removed at exit */
  char *config_dir; /* dir/config: sessions.d/ of persisted runtime sessions */
  char *state_dir;  /* dir/state: send queue journals */
} FuzzDaemon;

/* The process's fixture, set up by the first call. */
FuzzDaemon *fuzz_daemon_get (void);

/* A hub with the configuration's sessions. */
WsbHub *fuzz_daemon_hub_new (FuzzDaemon *fd);

/* Frees hub (after its frontends), runs what that left on the loop and
 * removes what the daemon wrote (persisted sessions, send queue journals),
 * so that no input sees another's. */
void fuzz_daemon_hub_free (FuzzDaemon *fd, WsbHub *hub);
