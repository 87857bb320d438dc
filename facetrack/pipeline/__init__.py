"""Stages and sinks, the pipeline that runs them, and every entry point (``jobs``)."""

from facetrack.pipeline.base import Sink, Stage
from facetrack.pipeline.pipeline import Pipeline, Step
from facetrack.pipeline.tracker import FaceTracker

__all__ = ["FaceTracker", "Pipeline", "Sink", "Stage", "Step"]
