"""How a connection retries reaching the daemon after it went away."""

from __future__ import annotations

import dataclasses
import random

__all__ = ["Backoff"]


@dataclasses.dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter, like the daemon's own.

    Try ``n`` (from 0) waits a random time up to
    ``min(maximum, initial * 2**n)`` seconds; after ``give_up_after`` seconds
    without reaching the daemon the client gives up and raises
    :class:`wsbridge.DaemonUnreachable` (``None``: never give up).
    """

    initial: float = 0.1
    maximum: float = 5.0
    give_up_after: float | None = 60.0

    def __post_init__(self) -> None:
        if not self.initial > 0:
            raise ValueError(f"Backoff initial must be > 0 seconds, not {self.initial!r}")
        if not self.maximum >= self.initial:
            raise ValueError(f"Backoff maximum ({self.maximum!r}) must be >= initial "
                             f"({self.initial!r})")
        if self.give_up_after is not None and not self.give_up_after > 0:
            raise ValueError(f"Backoff give_up_after must be > 0 seconds or None, "
                             f"not {self.give_up_after!r}")

    def delay(self, attempt: int, rand: float | None = None) -> float:
        """Seconds to wait before try ATTEMPT (0, 1, ...); RAND in [0, 1) for tests."""
        cap = min(self.maximum, self.initial * float(1 << min(attempt, 62)))
        return cap * (random.random() if rand is None else rand)
