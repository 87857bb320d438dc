"""``with`` support for objects that own a resource and release it in ``close()``."""

from __future__ import annotations

import abc
from types import TracebackType
from typing import TypeVar

_T = TypeVar("_T", bound="Closing")


class Closing(abc.ABC):
    """Base of sources and writers: ``with obj:`` returns the object and closes it on exit,
    whether the block ends normally or by an exception."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release what the object holds; safe to call twice."""

    def __enter__(self: _T) -> _T:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
