"""Pacing per sender number: a token bucket shared by every worker.

GCRA (the "virtual scheduling" form of a token bucket): each sender has a theoretical arrival
time; a send of n segments reserves the slot [tat, tat + n / rate). Redis holds it in
production, so every worker on every machine draws from one bucket; the embedded default keeps
it in the process (the demo runs one worker process).
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

# Up to one second of sends may go out at once after an idle spell.
BURST_S = 1.0

_RESERVE = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local start = math.max(tat - tonumber(ARGV[3]), t)
local wait = start - t
if wait > tonumber(ARGV[2]) then return tostring(-wait) end
local new_tat = math.max(tat, t) + tonumber(ARGV[1])
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.ceil((new_tat - t) * 1000) + 1000)
return tostring(wait)
"""


class Pacer(Protocol):
    def reserve(self, sender: str, segments: int, max_wait: float) -> float:
        """Seconds to wait before sending (reserved), or minus the wait when it exceeds
        max_wait (nothing reserved: try later)."""
        ...


class LocalPacer:
    """The bucket in this process (embedded default)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._tat: dict[str, float] = {}
        self._lock = threading.Lock()

    def reserve(self, sender: str, segments: int, max_wait: float) -> float:
        with self._lock:
            now = time.monotonic()
            tat = self._tat.get(sender, 0.0)
            wait = max(tat - BURST_S, now) - now
            if wait > max_wait:
                return -wait
            self._tat[sender] = max(tat, now) + segments / self.rate
            return wait


class RedisPacer:
    """The bucket in Redis, shared by every worker (production)."""

    def __init__(self, url: str, rate: float) -> None:
        import redis

        self.rate = rate
        self._redis = redis.Redis.from_url(url)
        self._script = self._redis.register_script(_RESERVE)

    def reserve(self, sender: str, segments: int, max_wait: float) -> float:
        key = f"reunite:sms:pace:{sender}"
        return float(self._script(keys=[key], args=[segments / self.rate, max_wait, BURST_S]))


def make_pacer(*, rate: float, redis_url: str | None) -> Pacer:
    """RedisPacer when Redis is configured, else LocalPacer."""
    return RedisPacer(redis_url, rate) if redis_url else LocalPacer(rate)
