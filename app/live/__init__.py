"""The Live Desktop Event Feed: a Socket.IO server in the same ASGI app as the API."""
