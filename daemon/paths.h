/* The directories and socket of the user or system instance, from the
 * command line (cmdline.h) and systemd's variables (DESIGN §5). */
#pragma once

#include <glib.h>

#include "cmdline.h"

typedef enum
{
  WSB_BUS_NONE,
  WSB_BUS_SESSION,
  WSB_BUS_SYSTEM,
} WsbBus;

typedef struct
{
  char *config_dir;
  char *state_dir;
  char *socket;
  gboolean socket_dir_private; /* the socket's directory is ours: keep it 0700 */
  WsbBus bus;                  /* --bus, or the instance's own bus */
} WsbPaths;

/* The paths for these options, with systemd's *_DIRECTORY variables winning
 * over the defaults on the system instance. */
WsbPaths *wsb_paths_resolve (const WsbCmdline *opts);
void wsb_paths_free (WsbPaths *p);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsbPaths, wsb_paths_free)
