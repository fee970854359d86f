/* Presets (pure data): the options that show a known server's WebSocket
 * stream properly, by the option names of notify-options.c. A preset only
 * fills what the command line and the [notify] file leave unset. */
#pragma once

#include <glib.h>

typedef struct
{
  const char *option; /* a long option's name, without "--" */
  const char *value;
} WsbNotifyPresetValue;

/* The values of preset name (ending with { NULL, NULL }), or NULL when
 * there is no such preset. */
const WsbNotifyPresetValue *wsb_notify_preset_lookup (const char *name);

/* "ntfy, gotify": the names, for messages. */
const char *wsb_notify_preset_names (void);
