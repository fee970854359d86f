/* wsbridged's command line: the options, parsed and checked (the paths
 * they imply are paths.h's). */
#pragma once

#include <glib.h>

typedef struct
{
  gboolean user;
  gboolean system;
  char *config_dir; /* --config */
  char *socket;     /* --socket */
  char *bus;        /* --bus */
  gboolean replace; /* --replace */
  gboolean verbose;
  gboolean version;
  gboolean check_config; /* --check-config: validate the configuration, exit */
} WsbCmdline;

/* Parses and validates argv; a relative --socket is made absolute. */
gboolean wsb_cmdline_parse (int *argc, char ***argv, WsbCmdline *opts, GError **error);
void wsb_cmdline_clear (WsbCmdline *opts);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (WsbCmdline, wsb_cmdline_clear)
