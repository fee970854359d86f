/* wsbridge-notify's options: the command line, and the key file that
 * --config names (a [notify] group whose keys are the long options without
 * "--"; the command line wins). One table holds every option with its
 * documentation, so the two never disagree. */
#pragma once

#include <glib.h>

#include "notify-pointer.h"

#define WSB_NOTIFY_DEFAULT_BURST 5
#define WSB_NOTIFY_DEFAULT_WINDOW 10.0
#define WSB_NOTIFY_BURST_MAX 1000
#define WSB_NOTIFY_WINDOW_MIN 0.1
#define WSB_NOTIFY_WINDOW_MAX 86400.0

typedef struct
{
  char *target; /* SESSION[/CHANNEL] as given */
  char *session;
  char *channel; /* "*" when none was given */
  WsbNotifyPointer *summary;
  WsbNotifyPointer *body;
  WsbNotifyPointer *icon_key;
  WsbNotifyPointer *urgency_key;
  WsbNotifyPointer *url_key;
  char *icon; /* NULL: none */
  char *app_name;
  char *socket; /* resolved: --socket, $WSBRIDGE_SOCKET, the user instance's */
  guint burst;
  double window; /* seconds */
  gboolean verbose;
  gboolean version;
} WsbNotifyOptions;

void wsb_notify_options_clear (WsbNotifyOptions *o);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (WsbNotifyOptions, wsb_notify_options_clear)

/* Parses argv (GOption removes what it took) and the --config file. FALSE
 * with a G_OPTION_ERROR naming the option, or the file and key, and the
 * reason. A --config file that does not exist counts as empty (the systemd
 * unit names one per instance whether or not the user wrote it); it is
 * reported with g_message. With --version nothing else is checked. */
gboolean wsb_notify_options_parse (WsbNotifyOptions *o, int *argc, char ***argv, GError **error);
