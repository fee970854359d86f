"""websockets' legacy asyncio API (``websockets.legacy``): see :mod:`.client`."""
