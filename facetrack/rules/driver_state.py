"""Where a driver's attention is, sample by sample: on the forward road, away with the head
turned (an "owl" glance), away with the eyes only (a "lizard" glance), or not yet judged.

"On the road" is relative to the driver's own neutral pose, the way openpilot calibrates its
driver monitor: the median head pose (yaw, pitch) and iris gaze of the first
``calibration_s`` watched, so a camera mounted off-axis or a driver who sits turned does not
read as distracted. Every sample of that first minute teaches it (a median: a driver looks at
the road most of the time, so glances away do not move it, and a track that starts mid
shoulder-check is corrected as soon as the road dominates); nothing is judged before
``min_calibration_s`` of it. After the first minute it is fixed.

- owl: the head turned more than ``road_yaw_deg`` either side, or tilted down more than
  ``road_pitch_down_deg`` (looking up is not counted, as in openpilot);
- lizard: the head on the road but the irises turned more than ``gaze_cone_deg`` from their
  neutral direction. Gaze is the iris centre's offset in eye widths
  (``analysis.eyes.iris_gaze``), converted to an angle with the eyeball's geometry: an eyeball
  radius of ~12 mm over an eye opening ~30 mm wide moves the iris 0.4 eye widths per unit of
  sine. Read only on eyes at least 20 px wide; smaller eyes cannot show a lizard glance (Euro
  NCAP calls such a system "degraded").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from facetrack.config.profiles import DriverConfig

Glance = Literal["road", "owl", "lizard", "calibrating"]
#: iris offset (eye widths) per unit of sine of the gaze angle
GAZE_PER_SIN = 0.4
#: a pause between samples longer than this does not count towards calibration
MAX_STEP_S = 1.0
#: samples kept for the medians (a minute at 60 fps)
MAX_SAMPLES = 3600


@dataclass
class NeutralPose:
    """The driver's neutral head pose and gaze: medians over their first watched seconds."""

    learnt_s: float = 0.0
    poses: list[tuple[float, float]] = field(default_factory=list)
    gazes: list[tuple[float, float]] = field(default_factory=list)

    def add(self, dt: float, pose: tuple[float, float], gaze: tuple[float, float] | None,
            calibration_s: float) -> None:
        if self.learnt_s >= calibration_s or len(self.poses) >= MAX_SAMPLES:
            return
        self.learnt_s += min(dt, MAX_STEP_S)
        self.poses.append(pose)
        if gaze is not None:
            self.gazes.append(gaze)

    def pose(self) -> tuple[float, float]:
        yaw, pitch = np.median(np.asarray(self.poses), axis=0)
        return float(yaw), float(pitch)

    def gaze(self) -> tuple[float, float] | None:
        if not self.gazes:
            return None
        x, y = np.median(np.asarray(self.gazes), axis=0)
        return float(x), float(y)


class Attention:
    def __init__(self, config: DriverConfig) -> None:
        self.config = config
        self.neutral = NeutralPose()
        self._gaze_limit = GAZE_PER_SIN * math.sin(math.radians(config.gaze_cone_deg))

    def classify(self, dt: float, pose: tuple[float, float, float] | None,
                 gaze: tuple[float, float] | None) -> Glance:
        """One analysed sample: ``dt`` seconds since the previous one, the head pose (yaw,
        pitch, roll; degrees) and the iris gaze (eye widths; None where not read)."""
        cfg = self.config
        if pose is None:
            return "calibrating"
        self.neutral.add(dt, (pose[0], pose[1]), gaze, cfg.calibration_s)
        if self.neutral.learnt_s < cfg.min_calibration_s:
            return "calibrating"
        return self._judge(pose, gaze)

    def _judge(self, pose: tuple[float, float, float], gaze: tuple[float, float] | None
               ) -> Glance:
        cfg = self.config
        yaw0, pitch0 = self.neutral.pose()
        if abs(pose[0] - yaw0) > cfg.road_yaw_deg or pitch0 - pose[1] > cfg.road_pitch_down_deg:
            return "owl"
        neutral_gaze = self.neutral.gaze()
        if gaze is not None and neutral_gaze is not None and math.hypot(
                gaze[0] - neutral_gaze[0], gaze[1] - neutral_gaze[1]) > self._gaze_limit:
            return "lizard"
        return "road"
