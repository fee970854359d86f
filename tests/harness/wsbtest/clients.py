"""What the daemon's client programs under test (wsbridge-notify,
wsbridge-push) have in common as processes: a log file, and the teardown
check that every one exits 0 on SIGTERM with a clean log."""

from .base import BAD_LOG_LINE


class ClientProcess:
    """A client program started by a test. Subclasses set `proc` (the Popen,
    None until started), `returncode` (set once they have seen it exit) and
    `log_path`, and define stop(): SIGTERM and wait, returning the status or
    raising AssertionError."""

    proc = None
    returncode = None

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def finish(self, label):
        """Stop it if it runs; return the problems found (named LABEL): an exit
        status other than 0 after SIGTERM, an unexpected death, criticals in the log."""
        if self.proc is None:
            return []
        status = None
        if self.proc.poll() is None:
            try:
                status = self.stop()
            except AssertionError as e:
                self.proc.kill()
                self.proc.wait()
                status = str(e)
        elif self.returncode is None:
            status = f"died unexpectedly with {self.proc.returncode}"
        problems = [] if status in (None, 0) else [f"{label}: {status}"]
        return problems + [f"{label} log: {line}" for line in self.log().splitlines()
                           if BAD_LOG_LINE.search(line)]


def close_desk(request, desk):
    """The teardown of a suite's `desk` fixture: close DESK (it returns the
    problems found), print its log sections if the test or its setup failed or
    problems were found, and fail the test on problems."""
    problems = desk.close()
    failed = any(getattr(request.node, f"rep_{w}", None) is not None
                 and getattr(request.node, f"rep_{w}").failed for w in ("setup", "call"))
    if failed or problems:
        for title, text in desk.log_sections():
            print(f"----- {title}\n{text}")
    assert not problems, "teardown found problems:\n  " + "\n  ".join(problems)
