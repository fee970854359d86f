/* Command-line options of wsbridged and the directories and socket they
 * imply for the user or system instance (DESIGN §5). */
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
} WsbPathOptions;

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

/* Parses and validates argv. */
gboolean wsb_paths_parse_args (int *argc, char ***argv, WsbPathOptions *opts, GError **error);
void wsb_path_options_clear (WsbPathOptions *opts);

/* The paths for these options, with systemd's *_DIRECTORY variables winning
 * over the defaults on the system instance. */
WsbPaths *wsb_paths_resolve (const WsbPathOptions *opts);
void wsb_paths_free (WsbPaths *p);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsbPaths, wsb_paths_free)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (WsbPathOptions, wsb_path_options_clear)
