"""In-process token buckets: how many requests a principal or a client address may make.

Each key has a bucket of `burst` tokens refilled at `rate` tokens a second; a request takes one
or is refused with the seconds until one is back. The buckets live in this process: with
several replicas behind a load balancer, each replica counts on its own (docs/operations.md).
Memory is bounded: the least recently seen keys are forgotten beyond `max_keys` (a forgotten
key starts again with a full bucket, which only errs on the side of the client).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable


class TokenBuckets:
    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate, self.burst, self.max_keys, self.clock = rate, burst, max_keys, clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def take(self, key: str) -> int | None:
        """None when `key` may make a request now; otherwise whole seconds to wait."""
        if not self.enabled:
            return None
        now = self.clock()
        tokens, last = self._buckets.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        refused = tokens < 1.0
        if not refused:
            tokens -= 1.0
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        if refused:
            return max(1, math.ceil((1.0 - tokens) / self.rate))
        return None
