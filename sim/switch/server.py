"""The Event Socket server: the listening socket, its clients, and the chaos actions tests use."""

import asyncio

from sim.switch import protocol
from sim.switch.connection import EslConnection


class EslServer:
    """The listening socket and its clients, with the chaos actions tests use."""

    def __init__(self, switch, host="127.0.0.1", port=8021, password="ClueCon"):
        self.switch = switch
        self.loop = switch.loop
        self.host, self.port, self.password = host, port, password
        self.connections = set()
        self.frozen = False
        self._server = None
        self._reopen = None
        self._listening = asyncio.Lock()

    async def start(self):
        self._server = await self.loop.create_server(lambda: EslConnection(self), self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    def freeze(self, frozen):
        """Frozen: connections stay open but nothing is answered or sent (a hung switch)."""
        self.frozen = frozen
        if not frozen:
            for connection in list(self.connections):
                connection.flush()
                connection.process()

    def drop_clients(self):
        """Cut every client connection without a notice, as a crashed switch would."""
        for connection in list(self.connections):
            connection.closing = True
            connection.transport.abort()

    def refuse(self, seconds):
        """Stop listening (connects are refused) for `seconds`, then listen again on the same port."""
        if self._server:
            self._server.close()
            self._server = None
        if self._reopen:
            self._reopen.cancel()
        self._reopen = self.loop.call_later(seconds, lambda: self.loop.create_task(self.listen_again()))

    async def listen_again(self):
        """End a refusal now (if one is running) and listen on the same port again."""
        if self._reopen:
            self._reopen.cancel()
            self._reopen = None
        async with self._listening:
            if self._server is None:
                await self.start()

    async def stop(self):
        """Shut down like FreeSWITCH: SHUTDOWN event, calls end, every client gets the notice."""
        if self._reopen:
            self._reopen.cancel()
        if self._server:
            self._server.close()
        self.freeze(False)
        self.switch.shutdown()
        for connection in list(self.connections):
            connection.close_after(protocol.SHUTTING_DOWN)
        deadline = self.loop.time() + 2.0
        while self.connections and self.loop.time() < deadline:
            await asyncio.sleep(0.005)
        for connection in list(self.connections):
            connection.transport.abort()
