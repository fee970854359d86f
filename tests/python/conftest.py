"""The Python client's tests use the harness as it is: its pytest plugin
(tests/harness/wsbtest/plugin.py: the `wsb` fixture, logs on failure, skips
count as failures) and wsbtest."""

pytest_plugins = ["wsbtest.plugin"]
