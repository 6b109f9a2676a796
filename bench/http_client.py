"""A small asyncio HTTP/1.1 client for the commands scenario: keep-alive connections to one
server, at most `size` of them, JSON in and out.

The venv has no async HTTP client (no httpx, no aiohttp), and a thread per request would put
200 requests/s of GIL hand-offs in the client's own timings. h11 (uvicorn's HTTP/1.1 parser,
always installed with it) does the protocol; this module only moves its bytes.
"""

import asyncio
import contextlib
import time
from dataclasses import dataclass

import h11
import orjson

READ_SIZE = 65536
# uvicorn closes keep-alive connections idle for 5 s: one idle longer than this is reopened
# rather than risk a request on a socket the server is closing.
MAX_IDLE_SECONDS = 2.0


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    sent_at: float  # time.monotonic() when the request was written on the socket
    answered_at: float  # when the whole response had been read

    def json(self):
        return orjson.loads(self.body) if self.body else None


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.protocol = h11.Connection(h11.CLIENT)
        self.last_used = time.monotonic()

    @property
    def reusable(self) -> bool:
        return self.protocol.our_state is h11.DONE and self.protocol.their_state is h11.DONE

    @property
    def fresh(self) -> bool:
        return time.monotonic() - self.last_used < MAX_IDLE_SECONDS

    async def request(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes) -> Answer:
        if self.reusable:
            self.protocol.start_next_cycle()
        data = self.protocol.send(
            h11.Request(method=method, target=target, headers=[*headers, ("Content-Length", str(len(body)))])
        )
        data += self.protocol.send(h11.Data(data=body)) if body else b""
        data += self.protocol.send(h11.EndOfMessage())
        sent_at = time.monotonic()
        self.writer.write(data)
        await self.writer.drain()
        status, chunks = await self._read_response()
        self.last_used = time.monotonic()
        return Answer(status, b"".join(chunks), sent_at, self.last_used)

    async def _read_response(self) -> tuple[int, list[bytes]]:
        status, chunks = 0, []
        while True:
            event = self.protocol.next_event()
            if event is h11.NEED_DATA:
                self.protocol.receive_data(await self.reader.read(READ_SIZE))  # b"": the peer closed
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                return status, chunks
            elif isinstance(event, h11.ConnectionClosed):
                raise ConnectionError("the server closed the connection mid-response")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class HttpPool:
    """Requests to one host over at most `size` keep-alive connections; a request waits for a
    free connection (its `sent_at` is when it is written, after that wait)."""

    def __init__(self, host: str, port: int, size: int) -> None:
        self.host, self.port = host, port
        self._slots = asyncio.Semaphore(size)
        self._idle: list[Connection] = []
        self.headers: list[tuple[str, str]] = [("Host", f"{host}:{port}"), ("Accept", "application/json")]

    async def request(self, method: str, target: str, payload: dict | None = None) -> Answer:
        body = orjson.dumps(payload) if payload is not None else b""
        headers = [*self.headers, *([("Content-Type", "application/json")] if payload is not None else [])]
        async with self._slots:
            connection = await self._connection()
            try:
                answer = await connection.request(method, target, headers, body)
            except BaseException:
                connection.close()
                raise
            if connection.reusable:
                self._idle.append(connection)
            else:
                connection.close()
            return answer

    async def _connection(self) -> Connection:
        while self._idle:
            connection = self._idle.pop()
            if connection.fresh:
                return connection
            connection.close()
        return Connection(*await asyncio.open_connection(self.host, self.port))

    def close(self) -> None:
        for connection in self._idle:
            connection.close()
        self._idle.clear()
