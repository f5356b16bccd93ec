"""What the plain ASGI middlewares share."""

from __future__ import annotations

from starlette.types import Message, Send


class StatusWatch:
    """A send that passes every message on and notes the status of the response: 0 until
    the response has started."""

    __slots__ = ("_send", "status")

    def __init__(self, send: Send) -> None:
        self._send = send
        self.status = 0

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        await self._send(message)
