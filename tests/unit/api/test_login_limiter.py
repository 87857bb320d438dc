"""The login limiter: a burst cannot pass together, a stranger cannot lock a user out of their
own address, memory stays bounded."""

from __future__ import annotations

from facetrack.api.auth import LoginLimiter


def keys(address: str, name: str) -> list[str]:
    return [f"addr:{address}", f"user:{address}:{name}"]


def test_a_burst_counts_before_the_password_is_checked() -> None:
    limiter = LoginLimiter(5, 300)
    admitted = sum(limiter.begin(keys("10.0.0.9", "admin")) == 0 for _ in range(40))
    assert admitted == 5  # 40 parallel guesses: the 6th on wait, whatever the first answers


def test_a_success_takes_its_attempt_back() -> None:
    limiter = LoginLimiter(2, 300)
    for _ in range(5):
        assert limiter.begin(keys("10.0.0.1", "alice")) == 0
        limiter.succeeded(keys("10.0.0.1", "alice"))


def test_strangers_cannot_lock_a_user_out_of_their_own_address() -> None:
    limiter = LoginLimiter(5, 300)
    for n in range(20):  # failures for "admin" from many other addresses
        limiter.begin(keys(f"10.1.0.{n}", "admin"))
    assert limiter.begin(keys("10.0.0.2", "admin")) == 0
    for _ in range(5):
        limiter.begin(keys("10.1.0.1", "someone"))
    wait = limiter.begin(keys("10.1.0.1", "admin"))
    assert 290 < wait <= 300  # that address is on hold, for every name


def test_concurrent_password_checks_are_bounded() -> None:
    limiter = LoginLimiter(5, 300, concurrent=2)
    assert limiter.check() and limiter.check() and not limiter.check()
    limiter.done()
    assert limiter.check()


def test_memory_is_bounded_and_eviction_keeps_recent_keys() -> None:
    limiter = LoginLimiter(5, 300, max_keys=1000)
    for n in range(5000):
        limiter.begin(keys(f"10.{n // 256}.{n % 256}.1", f"user{n}"))
    assert len(limiter._failures) <= 1001
    for _ in range(5):
        limiter.begin(keys("10.9.9.9", "x"))
    assert limiter.begin(keys("10.9.9.9", "x")) > 0
