"""``Pipeline``: stages in order, grouped into steps that each run on one thread.

The usual grouping on two cores: decoding | detection | tracking + analysis + signals |
recognition (when on) + rules + alerts. Each group runs its stages in order on one thread, so
results come out in input order and are identical on every run (file mode never drops a frame).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from facetrack.frames import Frame
from facetrack.pipeline.base import Stage
from facetrack.results import FrameResult
from facetrack.runtime import run_stages
from facetrack.tracking.stage import TrackStage


@dataclass
class Step:
    """Stages run one after the other on one thread."""

    name: str
    stages: list[Stage]

    def __call__(self, result: FrameResult) -> FrameResult:
        for stage in self.stages:
            result = stage.process(result)
        return result


class Pipeline:
    def __init__(self, steps: Sequence[Step], queue_size: int = 8) -> None:
        self.steps = list(steps)
        self.queue_size = queue_size

    @property
    def stages(self) -> list[Stage]:
        return [s for step in self.steps for s in step.stages]

    @contextmanager
    def run(self, frames: Iterable[Frame]) -> Iterator[Iterator[FrameResult]]:
        """The results of ``frames``, pipelined; leaving the block stops every thread."""
        results = run_stages((FrameResult(f) for f in frames), list(self.steps),
                             queue_size=self.queue_size, names=[s.name for s in self.steps])
        try:
            yield results
        finally:
            results.close()  # type: ignore[attr-defined]

    def finish(self, last: FrameResult) -> FrameResult:
        """Every open track ends on ``last``'s frame: a result with no faces, the ended tracks
        and what the stages after the tracker (rules: ``track_ended``) make of them."""
        stages = self.stages
        index = next(i for i, s in enumerate(stages) if isinstance(s, TrackStage))
        track = stages[index]
        assert isinstance(track, TrackStage)
        result = track.end_all(last)
        for stage in stages[index + 1:]:
            result = stage.process(result)
        return result

    def reset(self) -> None:
        for stage in self.stages:
            stage.reset()

    def close(self) -> None:
        for stage in self.stages:
            stage.close()
