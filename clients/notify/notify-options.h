/* wsbridge-notify's options: the command line, the key file that --config
 * names (a [notify] group whose keys are the long options without "--"; the
 * command line wins), and a --preset, which fills what both left unset. One
 * table holds every option with its documentation, so they never disagree. */
#pragma once

#include <glib.h>

#include "notify-pointer.h"
#include "notify-urgency.h"

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
  char *preset;  /* NULL: none */
  WsbNotifyMatch *filter;
  WsbNotifyPointer *summary;
  WsbNotifyPointer *summary_fallback;
  WsbNotifyPointer *body;
  WsbNotifyPointer *icon_key;
  WsbNotifyPointer *urgency_key;
  WsbNotifyUrgencyMap *urgency_map;
  WsbNotifyPointer *url_key;
  WsbNotifyPointer *actions_key;
  WsbNotifyPointer *tags_key;
  WsbNotifyMatch *markdown;
  char *icon; /* NULL: none */
  char *app_name;
  char *socket; /* resolved: --socket, $WSBRIDGE_SOCKET, the user instance's */
  guint burst;
  double window;   /* seconds */
  gboolean resume; /* keep the position across restarts (not --no-resume) */
  gboolean verbose;
  gboolean version;
} WsbNotifyOptions;

void wsb_notify_options_clear (WsbNotifyOptions *o);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (WsbNotifyOptions, wsb_notify_options_clear)

/* Parses argv (GOption removes what it took) and the --config file. FALSE
 * with a G_OPTION_ERROR naming the option, or the file and key, and the
 * reason. SESSION[/CHANNEL] comes from the command line, else from the
 * session (and channel) options. A --config file that does not exist counts
 * as empty; it is reported with g_message. With --version nothing else is
 * checked. */
gboolean wsb_notify_options_parse (WsbNotifyOptions *o, int *argc, char ***argv, GError **error);
