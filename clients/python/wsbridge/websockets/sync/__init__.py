"""websockets' threading API (``websockets.sync``): see :mod:`.client`."""
