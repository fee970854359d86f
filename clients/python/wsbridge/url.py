"""``wsbridge://SESSION[/CHANNEL]`` URLs, as the drop-in faces take them."""

from __future__ import annotations

import urllib.parse

__all__ = ["parse_url", "SCHEME"]

SCHEME = "wsbridge://"


def parse_url(url: str) -> tuple[str, str]:
    """(session, channel) of ``wsbridge://SESSION[/CHANNEL]``; the channel
    defaults to ``*`` and may itself contain ``/``; ``%XX`` escapes are decoded.
    Raises ValueError naming the problem."""
    if not isinstance(url, str):
        raise ValueError(f"a wsbridge URL is a str, not {type(url).__name__}")
    if not url.startswith(SCHEME):
        raise ValueError(f"not a wsbridge URL (wsbridge://SESSION[/CHANNEL]): {url!r}")
    rest = url[len(SCHEME):]
    session, _, channel = rest.partition("/")
    session = urllib.parse.unquote(session)
    channel = urllib.parse.unquote(channel) or "*"
    if not session:
        raise ValueError(f"wsbridge URL without a session name: {url!r}")
    return session, channel
