"""Sign-in back-off for `newsrag serve --auth`: an ASGI middleware around Gradio's POST /login."""
from __future__ import annotations

import asyncio
import math
import time

from starlette.responses import JSONResponse

MAX_LOGIN_WAIT = 3600.0  # seconds: the longest a client waits after repeated failed sign-ins


class LoginThrottle:
    """ASGI middleware around Gradio's POST /login. After `attempts` failed sign-ins from one
    client address, its further attempts get 429 for `wait` seconds, doubled by each failure after
    that (at most an hour); a successful sign-in clears the address. Sign-ins from one address are
    judged one at a time, so guesses sent in parallel are throttled like sequential ones while
    parallel right passwords all get in."""

    def __init__(self, app, attempts: int, wait: float) -> None:
        self.app, self.attempts, self.wait = app, attempts, wait
        self.clients: dict[str, tuple[int, float, float]] = {}  # address -> (failures, refused until, last try)
        self.turns: dict[str, tuple[asyncio.Lock, int]] = {}  # address -> (its lock, sign-ins holding or awaiting it)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].rstrip("/").endswith("/login"):
            return await self.app(scope, receive, send)
        client = (scope.get("client") or ("unknown",))[0]  # the peer itself: X-Forwarded-For is forgeable
        lock, users = self.turns.get(client, (asyncio.Lock(), 0))
        self.turns[client] = (lock, users + 1)
        try:
            async with lock:
                await self._judge(client, scope, receive, send)
        finally:
            lock, users = self.turns[client]
            if users == 1:
                del self.turns[client]
            else:
                self.turns[client] = (lock, users - 1)

    async def _judge(self, client, scope, receive, send):
        now = time.monotonic()
        failures, until, last = self.clients.get(client, (0, 0.0, now))
        if now < until:
            wait = math.ceil(until - now)
            refusal = JSONResponse({"detail": f"Too many failed sign-ins from {client}: try again in {wait} s."},
                                   status_code=429, headers={"Retry-After": str(wait)})
            return await refusal(scope, receive, send)
        statuses = []

        async def watch(message):
            if message["type"] == "http.response.start":
                statuses.append(message["status"])
            await send(message)

        await self.app(scope, receive, watch)
        if statuses == [200]:
            self.clients.pop(client, None)
            return
        if now - last > MAX_LOGIN_WAIT:  # an old failure is forgotten
            failures = 0
        failures += 1
        if failures >= self.attempts:
            until = now + min(self.wait * 2 ** min(failures - self.attempts, 16), MAX_LOGIN_WAIT)
        self.clients[client] = (failures, until, now)
        if len(self.clients) > 10_000:
            self.clients = {k: v for k, v in self.clients.items() if now - v[2] <= MAX_LOGIN_WAIT}
