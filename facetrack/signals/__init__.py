"""Signals over a track's samples, each defined once and read by summaries, rules and
analytics alike: spells (blinks, eye closures, yawns, looking away), PERCLOS, zone visits."""

from facetrack.signals.perclos import Perclos
from facetrack.signals.spells import Spell
from facetrack.signals.track import Sample, SignalSettings, TrackSignalState

__all__ = ["Perclos", "Sample", "SignalSettings", "Spell", "TrackSignalState"]
