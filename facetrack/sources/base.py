from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType
from typing import Protocol

from facetrack.frames import Frame, SourceInfo


class Source(Protocol):
    """Anything that yields frames in order and owns what it opened."""

    @property
    def info(self) -> SourceInfo: ...

    def __iter__(self) -> Iterator[Frame]: ...

    def close(self) -> None: ...

    def __enter__(self) -> Source: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
