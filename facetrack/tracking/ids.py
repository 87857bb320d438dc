from __future__ import annotations

import threading


class IdAllocator:
    """Hands out increasing track ids, never the same one twice.

    Inject one per id space: two trackers given the same allocator never share an id; two
    trackers given different allocators (two cameras) do not reset each other.
    """

    def __init__(self, start: int = 1) -> None:
        self._next = start
        self._lock = threading.Lock()

    def __call__(self) -> int:
        with self._lock:
            value = self._next
            self._next += 1
            return value
