"""The two small interfaces everything between a source and the outside world implements.

A ``Stage`` turns a ``FrameResult`` into the next one (detection, tracking, analysis,
signals, recognition, rules, alerts): one verb, ``process``, plus ``reset`` (forget the input
so far) and ``close`` (release what it holds). A ``Sink`` consumes finished results (files,
annotated video, event store, clips, notifications, live view, metrics): ``consume`` and
``close``. Stages are plain synchronous code; ``facetrack.runtime`` decides which thread runs
them.
"""

from __future__ import annotations

from typing import Protocol

from facetrack.results import FrameResult


class Stage(Protocol):
    def process(self, result: FrameResult) -> FrameResult: ...

    def reset(self) -> None: ...

    def close(self) -> None: ...


class Sink(Protocol):
    def consume(self, result: FrameResult) -> None: ...

    def close(self) -> None: ...
