"""The event profiles' settings: ``events.profile: driver`` (driver monitoring, to Euro NCAP's
definitions with openpilot's mechanics) and ``events.profile: monitoring`` (patients and
operators). Sources for each default: docs/driver.md."""

from __future__ import annotations

from pydantic import Field, model_validator

from facetrack.config.base import Strict


class DriverConfig(Strict):
    zone: str | None = Field(
        None, description="Name of the zone around the driver's seat: only faces inside it are "
        "watched (others in the cabin are ignored). Unset: every face is watched.",
    )
    road_yaw_deg: float = Field(
        23.0, gt=0.0, le=90.0,
        description="Head turned further than this from the driver's own neutral pose (either "
        "side) is off the forward road (openpilot: 0.402 rad).",
    )
    road_pitch_down_deg: float = Field(
        18.0, gt=0.0, le=90.0,
        description="Head tilted down further than this from the neutral pose is off the road "
        "(openpilot: 0.313 rad; looking up is not counted, as in openpilot).",
    )
    gaze_cone_deg: float = Field(
        20.0, gt=0.0, le=60.0,
        description="Eyes turned further than this from their neutral direction, the head "
        "staying on the road, is an eyes-only ('lizard') glance; read from the iris on eyes at "
        "least 20 px wide, else not judged.",
    )
    calibration_s: float = Field(
        60.0, gt=0.0,
        description="The driver's neutral head pose and gaze are the medians of their first "
        "this many seconds watched (then fixed), so a camera mounted off-axis does not read as "
        "distracted.",
    )
    min_calibration_s: float = Field(
        10.0, gt=0.0,
        description="Distraction is judged once this much of the neutral pose is learnt (the "
        "median needs the road to dominate: a track that starts mid shoulder-check must not "
        "take the mirror for the road).",
    )
    long_distraction_s: float = Field(
        3.0, gt=0.0, description="Euro NCAP long distraction: one glance away this long."
    )
    vats_away_s: float = Field(
        10.0, gt=0.0,
        description="Euro NCAP visual attention time sharing: glances away summing to this "
        "within `vats_window_s`.",
    )
    vats_window_s: float = Field(30.0, gt=0.0, description="Window of `vats_away_s`.")
    vats_reset_s: float = Field(
        2.0, gt=0.0,
        description="Eyes on the road continuously this long clear the glances counted so far.",
    )
    microsleep_s: float = Field(
        0.5, gt=0.0,
        description="Eyes fully closed this long is a `microsleep` (Euro NCAP 2026 places "
        "microsleep at 1-2 s closures; 0.5 s catches them earlier).",
    )
    sleep_s: float = Field(3.0, gt=0.0, description="Eyes fully closed this long is `sleep`.")
    unresponsive_s: float = Field(
        6.0, gt=0.0,
        description="Eyes off the road or closed, without a break, this long is `unresponsive`.",
    )
    budget_s: float = Field(
        11.0, gt=0.0,
        description="openpilot's distraction budget: distracted time that empties it "
        "(it recovers 1.25x to 5x as fast while attentive).",
    )
    budget_warning: float = Field(
        6.0 / 11.0, gt=0.0, lt=1.0,
        description="Budget left (0..1) at which `distraction_budget` warns (openpilot's "
        "second alert: 5 s of 11).",
    )
    uncertain_s: float = Field(
        5.0, gt=0.0,
        description="The driver's eyes unreadable (too small, covered, sunglasses) or no driver "
        "in view this long gives `uncertain`, instead of any eye event (head turns are still "
        "judged while the face is analysed).",
    )

    @model_validator(mode="after")
    def _ordered(self) -> DriverConfig:
        if not self.microsleep_s < self.sleep_s:
            raise ValueError(f"microsleep_s ({self.microsleep_s}) must be below sleep_s "
                             f"({self.sleep_s})")
        if self.min_calibration_s > self.calibration_s:
            raise ValueError(f"min_calibration_s ({self.min_calibration_s}) cannot exceed "
                             f"calibration_s ({self.calibration_s}): distraction would never "
                             "be judged")
        if self.vats_away_s > self.vats_window_s:
            raise ValueError(f"vats_away_s ({self.vats_away_s}) cannot exceed vats_window_s "
                             f"({self.vats_window_s})")
        return self


class MonitoringConfig(Strict):
    eyes_closed_s: float = Field(
        10.0, gt=0.0, description="Eyes fully closed this long gives `prolonged_eye_closure`."
    )
    no_face_s: float = Field(
        10.0, gt=0.0, description="No face analysed in view this long gives `uncertain` "
        "(reason `no_face`).",
    )
    trend_window_s: float = Field(
        600.0, gt=0.0,
        description="`fatigue_trend` compares the last this-many seconds of a person with "
        "their own first ones, once the two do not overlap (a track of twice this).",
    )
    perclos_rise: float = Field(
        0.05, gt=0.0, le=1.0, description="PERCLOS must rise by at least this (absolute)."
    )
    blink_rate_rise: float = Field(
        1.25, gt=1.0, description="The blink rate must rise by at least this factor."
    )
