"""pytest glue: the `wsb` and `certs` fixtures, logs on failure, skips count as
failures, except that a test that needs root (wsbtest.needs_root) exits 77,
Meson's SKIP, when not root."""

import os

import pytest

import wsbtest


@pytest.fixture
def wsb(request, tmp_path):
    """A Harness; at teardown every daemon must exit 0 on SIGTERM with a clean log."""
    harness = wsbtest.Harness(tmp_path)
    request.node.wsb_harness = harness
    yield harness
    problems = harness.close()
    assert not problems, "teardown found problems:\n  " + "\n  ".join(problems)


@pytest.fixture
def certs(tmp_path):
    """A fresh test PKI (wsbtest.Certs) in this test's temp dir."""
    return wsbtest.Certs(tmp_path / "pki")


@pytest.fixture
def system_bus(wsb):
    """A private system bus; the harness stops it after the daemons."""
    return wsb.system_bus()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
    if report.when != "teardown":
        return
    # Teardown has stopped every process, so the logs are complete now. The
    # failure summary is printed at the end of the session, so attaching the
    # logs to the failed report here still shows them under that failure.
    harness = getattr(item, "wsb_harness", None)
    failed = [r for r in (getattr(item, f"rep_{w}", None) for w in ("setup", "call", "teardown"))
              if r is not None and r.failed]
    if harness and failed:
        failed[0].sections.extend(harness.log_sections())


def pytest_runtest_logreport(report):
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        SKIPPED.append((report.nodeid, reason.removeprefix("Skipped: ")))


SKIPPED = []
NEEDS_ROOT = "needs root: "


def pytest_sessionfinish(session, exitstatus):
    if SKIPPED and os.geteuid() != 0 and exitstatus == pytest.ExitCode.OK \
            and all(reason.startswith(NEEDS_ROOT) for _, reason in SKIPPED):
        for reason in dict.fromkeys(reason for _, reason in SKIPPED):
            print(f"\n{reason}")
        session.exitstatus = 77
    elif SKIPPED:
        SKIPPED[:] = [f"{nodeid}: {reason}" for nodeid, reason in SKIPPED]
        print("\nskipped tests count as failures here:\n  " + "\n  ".join(SKIPPED))
        session.exitstatus = 1
