"""websockets' ``frames`` names the face uses: :class:`Close`, :class:`CloseCode`,
:class:`Opcode` and :class:`Frame`."""

from __future__ import annotations

import dataclasses
import enum

__all__ = ["Close", "CloseCode", "Opcode", "Frame", "OK_CLOSE_CODES"]


class Opcode(enum.IntEnum):
    CONT, TEXT, BINARY = 0x00, 0x01, 0x02
    CLOSE, PING, PONG = 0x08, 0x09, 0x0A


class CloseCode(enum.IntEnum):
    NORMAL_CLOSURE = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    NO_STATUS_RCVD = 1005
    ABNORMAL_CLOSURE = 1006
    INVALID_DATA = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    MANDATORY_EXTENSION = 1010
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013
    BAD_GATEWAY = 1014
    TLS_HANDSHAKE = 1015


OK_CLOSE_CODES = {CloseCode.NORMAL_CLOSURE, CloseCode.GOING_AWAY, CloseCode.NO_STATUS_RCVD}


@dataclasses.dataclass
class Close:
    """The code and reason of a close frame."""

    code: int
    reason: str

    def __str__(self) -> str:
        try:
            explanation = CloseCode(self.code).name.lower().replace("_", " ")
        except ValueError:
            explanation = "private use" if 4000 <= self.code < 5000 else "unknown"
        text = f"{self.code} ({explanation})"
        return f"{text} {self.reason}" if self.reason else text


@dataclasses.dataclass
class Frame:
    """A frame, as websockets describes it (the face shows whole messages)."""

    opcode: Opcode
    data: bytes
    fin: bool = True
    rsv1: bool = False
    rsv2: bool = False
    rsv3: bool = False
