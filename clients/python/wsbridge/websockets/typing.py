"""websockets' type names."""

from __future__ import annotations

from typing import NewType, Union

__all__ = ["Data", "Origin", "Subprotocol", "ExtensionName", "ExtensionParameter", "StatusLike",
           "LoggerLike"]

Data = Union[str, bytes]
Origin = NewType("Origin", str)
Subprotocol = NewType("Subprotocol", str)
ExtensionName = NewType("ExtensionName", str)
ExtensionParameter = tuple[str, Union[str, None]]
StatusLike = int
LoggerLike = object
