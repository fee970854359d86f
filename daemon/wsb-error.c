#include "wsb-error.h"

G_DEFINE_QUARK (wsb-error-quark, wsb_error)
