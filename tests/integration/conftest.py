"""The harness's pytest plugin (tests/harness/wsbtest/plugin.py): the `wsb`,
`certs` and `system_bus` fixtures, logs on failure, skips count as failures."""

pytest_plugins = ["wsbtest.plugin"]
