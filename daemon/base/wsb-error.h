/* The daemon's one error domain. Codes map one-to-one onto the socket API's
 * ErrorCode and onto named D-Bus errors io.github.WsBridge1.Error.* (wsb-error.c). */
#pragma once

#include <glib.h>

typedef enum
{
  WSB_ERROR_FAILED,
  WSB_ERROR_INVALID_ARGUMENT,
  WSB_ERROR_NOT_FOUND,
  WSB_ERROR_ACCESS_DENIED,
  WSB_ERROR_QUEUE_FULL,
  WSB_ERROR_LIMIT_EXCEEDED,
  WSB_ERROR_CONFIG,
  WSB_ERROR_ALREADY_EXISTS,
} WsbError;

#define WSB_ERROR (wsb_error_quark ())
GQuark wsb_error_quark (void);
