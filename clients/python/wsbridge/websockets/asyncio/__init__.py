"""websockets' asyncio API (``websockets.asyncio``): see :mod:`.client`."""
