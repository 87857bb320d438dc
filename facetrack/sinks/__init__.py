"""Sinks: everything that consumes finished results (``consume(result)``, ``close()``): result
files, annotated video, event store and events.jsonl, evidence clips, notifications, live view,
local window, RTSP push, metrics."""

from facetrack.sinks.files import JsonlWriter, MotWriter, Thumbnails, TracksTable, write_tracks
from facetrack.sinks.video import AnnotatedVideoWriter

__all__ = ["AnnotatedVideoWriter", "JsonlWriter", "MotWriter", "Thumbnails", "TracksTable",
           "write_tracks"]
