"""Result writers. Each is a context manager with ``consume(result)``; files are flushed as they
go, so a run that stops part-way leaves valid files with every frame processed so far."""

from facetrack.sinks.files import JsonlWriter, MotWriter, write_tracks
from facetrack.sinks.video import AnnotatedVideoWriter, annotate

__all__ = ["AnnotatedVideoWriter", "JsonlWriter", "MotWriter", "annotate", "write_tracks"]
