"""``SignalStage``: folds each analysed face into its track's signals and puts them in the
track's snapshot. Runs right after analysis, on the same thread."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from facetrack.results import FrameResult
from facetrack.signals.track import Sample, SignalSettings, TrackSignalState
from facetrack.tracking.history import export_state
from facetrack.zones import Zone


class SignalStage:
    def __init__(self, settings: SignalSettings, zones: Sequence[Zone] = ()) -> None:
        self.settings = settings
        self.zones = tuple(zones)

    def process(self, result: FrameResult) -> FrameResult:
        faces, frame, records = result.faces, result.frame, result.records
        attrs = faces.attrs
        n = len(faces)
        analysed = attrs.get("analysed", np.zeros(n, bool))
        inside = {z.name: z.contains_boxes(faces.xyxy) for z in self.zones}
        wh = faces.wh
        for i, tid in enumerate(faces.track_id.tolist()):
            record = records.get(tid)
            if record is None:
                continue
            state = record.state_of(TrackSignalState)
            state.seen(wh[i], {name: bool(v[i]) for name, v in inside.items()},
                       frame.timestamp)
            if analysed[i]:
                state.analysed_sample(self.settings, frame.index, Sample(
                    frame.timestamp, bool(attrs["eyes_closing"][i]),
                    bool(attrs["eyes_closed"][i]), bool(attrs["eyes_visible"][i]),
                    bool(attrs["looking"][i]),
                    float(attrs["mouth_open"][i]),
                    np.asarray(attrs["head_pose"][i], np.float64), float(attrs["quality"][i]),
                    np.asarray(attrs["gaze"][i], np.float64) if "gaze" in attrs else None))
        return result.replace(tracks=tuple(export_state(s, records, TrackSignalState, "signals")
                                           for s in result.tracks))

    def reset(self) -> None:
        """Nothing to forget: the state is in each track's record."""

    def close(self) -> None:
        """Nothing held."""
