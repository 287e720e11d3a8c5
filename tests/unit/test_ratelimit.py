"""The token buckets of app/ratelimit.py, on a clock the test moves."""

from __future__ import annotations

from app.ratelimit import TokenBuckets


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_the_rate_and_the_wait_it_announces() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate=2.0, burst=3, clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [None, None, None]
    assert buckets.take("a") == 1  # half a second for the next token: rounded up to 1 s
    assert buckets.take("b") is None  # another key has its own bucket
    clock.now += 0.5
    assert buckets.take("a") is None
    assert buckets.take("a") == 1
    clock.now += 60
    assert [buckets.take("a") for _ in range(4)] == [None, None, None, 1]  # never above burst


def test_a_slow_rate_announces_a_longer_wait() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate=0.1, burst=1, clock=clock)
    assert buckets.take("a") is None
    assert buckets.take("a") == 10


def test_rate_zero_is_off_and_memory_is_bounded() -> None:
    assert TokenBuckets(rate=0, burst=1).take("a") is None
    clock = Clock()
    buckets = TokenBuckets(rate=1.0, burst=1, max_keys=2, clock=clock)
    for key in ("a", "b", "c"):
        assert buckets.take(key) is None
    assert len(buckets._buckets) == 2
    assert buckets.take("a") is None  # forgotten: starts again with a full bucket
    assert buckets.take("c") == 1
