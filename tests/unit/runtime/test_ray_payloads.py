"""The payloads of Ray tasks: one object-store copy for the segments of one video, dropped
once its last segment is back; inputs of their own are passed by value as before."""

from __future__ import annotations

from typing import Any

from facetrack.runtime.ray_jobs import _Payloads


class FakeRay:
    def __init__(self) -> None:
        self.puts: list[Any] = []

    def put(self, value: Any) -> str:
        self.puts.append(value)
        return f"ref{len(self.puts)}"


def test_segments_of_one_video_share_one_copy_until_the_last_is_back() -> None:
    ray = FakeRay()
    reads: list[str] = []

    def read(job: str) -> bytes:
        reads.append(job)
        return job.encode()

    jobs = ["long.mp4#0", "long.mp4#1", "long.mp4#2", "short.mp4"]
    payloads = _Payloads(ray, read, lambda job: job.split("#")[0], jobs)
    assert [payloads.get(j) for j in jobs[:2]] == ["ref1", "ref1"]
    assert payloads.get("short.mp4") == b"short.mp4"  # alone: by value, no copy kept
    payloads.release("long.mp4#0")
    payloads.release("long.mp4#1")
    assert payloads.get("long.mp4#2") == "ref1"
    payloads.release("long.mp4#2")
    assert payloads.refs == {} and len(ray.puts) == 1
    assert reads == ["long.mp4#0", "short.mp4"]


def test_without_sharing_every_job_reads_its_own() -> None:
    ray = FakeRay()
    payloads = _Payloads(ray, lambda job: job, None, ["a", "a"])
    assert [payloads.get("a"), payloads.get("a")] == ["a", "a"] and ray.puts == []
    payloads.release("a")
