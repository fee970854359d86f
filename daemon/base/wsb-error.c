#include "wsb-error.h"

#include <gio/gio.h>

/* D-Bus callers see these names instead of a generic failure (bolt's
 * bolt-error.c does the same). WSB_ERROR_CONFIG is an error of a
 * configuration file; requests report bad options as InvalidArgument. */
static const GDBusErrorEntry dbus_errors[] = {
  { WSB_ERROR_FAILED, "io.github.WsBridge1.Error.Failed" },
  { WSB_ERROR_INVALID_ARGUMENT, "io.github.WsBridge1.Error.InvalidArgument" },
  { WSB_ERROR_NOT_FOUND, "io.github.WsBridge1.Error.NotFound" },
  { WSB_ERROR_ACCESS_DENIED, "io.github.WsBridge1.Error.AccessDenied" },
  { WSB_ERROR_QUEUE_FULL, "io.github.WsBridge1.Error.QueueFull" },
  { WSB_ERROR_LIMIT_EXCEEDED, "io.github.WsBridge1.Error.LimitExceeded" },
  { WSB_ERROR_CONFIG, "io.github.WsBridge1.Error.Config" },
  { WSB_ERROR_ALREADY_EXISTS, "io.github.WsBridge1.Error.AlreadyExists" },
};

GQuark
wsb_error_quark (void)
{
  static gsize quark = 0;

  g_dbus_error_register_error_domain ("wsb-error-quark", &quark, dbus_errors,
                                      G_N_ELEMENTS (dbus_errors));
  return (GQuark) quark;
}
