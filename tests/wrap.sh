#!/bin/sh
# Runs a test program under $WSB_DAEMON_WRAPPER (set by the "valgrind" test
# setup), so unit tests and the daemon started by integration tests are
# checked the same way, while the Python test drivers run unwrapped.
# shellcheck disable=SC2086
exec ${WSB_DAEMON_WRAPPER:-} "$@"
