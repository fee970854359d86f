"""websockets' connection :class:`State`."""

from __future__ import annotations

import enum

__all__ = ["State", "CONNECTING", "OPEN", "CLOSING", "CLOSED", "Side"]


class State(enum.IntEnum):
    """A connection is in one of these four states (the face shows OPEN and CLOSED)."""

    CONNECTING, OPEN, CLOSING, CLOSED = range(4)


CONNECTING, OPEN, CLOSING, CLOSED = State.CONNECTING, State.OPEN, State.CLOSING, State.CLOSED


class Side(enum.IntEnum):
    SERVER, CLIENT = range(2)
