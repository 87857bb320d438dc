"""The driver and monitoring profiles as tables: (time, signals) in, events out, at 10 fps.
Each driver rule must fire at its own threshold after the onset, at most one frame (0.1 s)
late, once per episode."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

from facetrack.config.profiles import DriverConfig, MonitoringConfig
from facetrack.events import Event
from facetrack.rules.base import Now, RuleMemory
from facetrack.rules.driver import DriverRule
from facetrack.rules.monitoring import FatigueTrendRule
from facetrack.rules.scene import NoFaceRule
from facetrack.signals.track import Sample, SignalSettings, TrackSignalState
from facetrack.tracks import TrackSnapshot
from tests.builders import snapshot

FPS = 10.0
PERIOD = 1 / FPS
CALIBRATE_S = 60.0  # every table starts with a minute of the driver on the road (calibrated)


@dataclass
class At:
    """What the driver does at one frame (defaults: on the road, eyes open and readable)."""

    yaw: float = 0.0
    pitch: float = 0.0
    gaze: tuple[float, float] | None = (0.0, 0.0)
    closed: bool = False
    visible: bool = True
    present: bool = True
    zones: tuple[str, ...] = ()


def drive(script: Callable[[float], At], seconds: float, config: DriverConfig | None = None,
          ) -> list[tuple[float, Event]]:
    """Run the driver rule and the no-face scene rule over ``CALIBRATE_S`` on the road, then
    ``seconds`` of ``script(t)``; the events with the time they fired (``t`` of the script).
    The track's signals come from the real reducer (``TrackSignalState``), as in the
    pipeline."""
    cfg = config or DriverConfig()
    rule, scene, memory = DriverRule(cfg), NoFaceRule(cfg.uncertain_s, cfg.zone), RuleMemory()
    signals = TrackSignalState()
    settings = SignalSettings(PERIOD, 1.0, 1.0, 60.0, 0.6, 1.5)
    out: list[tuple[float, Event]] = []
    for i in range(round((CALIBRATE_S + seconds) * FPS)):
        t = i / FPS
        at = At(zones=script(0.0).zones) if t < CALIBRATE_S else script(t - CALIBRATE_S)
        now = Now("cam", i, t, "wall")
        tracks = []
        if at.present:
            closed = at.closed and at.visible
            signals.analysed_sample(settings, i, Sample(
                t, closed, closed, at.visible, True, 0.0, np.array([at.yaw, at.pitch, 0.0]),
                0.5, None if at.gaze is None else np.array(at.gaze)))
            exported = dataclasses.replace(signals.export(), zones={z: 0.0 for z in at.zones})
            track = TrackSnapshot(1, "active", 0, 0.0, i, t, i + 1, signals=exported)
            tracks.append(track)
            out += [(t - CALIBRATE_S, e) for e in rule.evaluate(track, memory, now)]
        out += [(t - CALIBRATE_S, e) for e in scene.evaluate(tracks, now)]
    return out


def kinds(events: list[tuple[float, Event]]) -> list[str]:
    return [e.kind for _, e in events]


def fired(events: list[tuple[float, Event]], kind: str) -> list[float]:
    return [t for t, e in events if e.kind == kind]


def on_time(times: list[float], onset: float, threshold: float) -> bool:
    """One event, on the frame that completes the threshold: each frame counts the interval
    it stands for, so from the onset frame's timestamp that is the threshold less one frame
    interval; never more than one frame late."""
    return len(times) == 1 and \
        threshold - PERIOD - 1e-6 <= times[0] - onset <= threshold + PERIOD + 1e-6


def test_a_driver_watching_the_road_raises_nothing() -> None:
    assert drive(lambda t: At(yaw=2.0, pitch=-3.0, gaze=(0.02, 0.01)), 120) == []


def test_a_camera_mounted_off_axis_is_learnt_not_distraction() -> None:
    """The driver sits 35 degrees off the camera axis the whole drive: that is their road."""
    cfg = DriverConfig()

    def script(t: float) -> At:
        return At(yaw=35.0)

    events = []
    rule, memory = DriverRule(cfg), RuleMemory()
    for i in range(600):
        track = snapshot(1, frame=i, last=i / FPS, last_analysed_frame=i,
                         pose_now=(35.0, 0.0, 0.0), gaze_now=(0.0, 0.0), eyes_visible=True)
        events += rule.evaluate(track, memory, Now("cam", i, i / FPS, "w"))
    assert events == []


def test_long_distraction_owl_at_three_seconds() -> None:
    events = drive(lambda t: At(yaw=40.0) if 1.0 <= t < 5.0 else At(), 20)
    assert on_time(fired(events, "long_distraction"), onset=1.0, threshold=3.0)
    (glance,) = [e for _, e in events if e.kind == "long_distraction"]
    assert glance.glance == "owl"  # type: ignore[attr-defined]


def test_looking_down_is_off_the_road_looking_up_is_not() -> None:
    down = drive(lambda t: At(pitch=-25.0) if 1.0 <= t < 5.0 else At(), 20)
    up = drive(lambda t: At(pitch=25.0) if 1.0 <= t < 5.0 else At(), 20)
    assert on_time(fired(down, "long_distraction"), 1.0, 3.0)
    assert fired(up, "long_distraction") == []


def test_eyes_only_glance_is_a_lizard_one() -> None:
    """The head stays forward, the irises move 0.2 eye widths (about 30 degrees)."""
    events = drive(lambda t: At(gaze=(0.2, 0.05)) if 2.0 <= t < 6.0 else At(), 20)
    (glance,) = [e for _, e in events if e.kind == "long_distraction"]
    assert glance.glance == "lizard"  # type: ignore[attr-defined]
    assert on_time(fired(events, "long_distraction"), 2.0, 3.0)


def glances(away_s: float, back_s: float, n: int) -> Callable[[float], At]:
    """``n`` glances of ``away_s`` with ``back_s`` on the road after each (whole frames)."""
    away, back = round(away_s * FPS), round(back_s * FPS)

    def script(t: float) -> At:
        k, r = divmod(round(t * FPS), away + back)
        return At(yaw=40.0) if k < n and r < away else At()
    return script


def test_time_sharing_sums_short_glances_within_thirty_seconds() -> None:
    """2 s away, 1 s back (never the 2 s that reset it): the glances reach 10 s at the end of
    the fifth glance (14 s; each away sample counts the interval before it, so one frame
    early), none of them long enough for a long distraction."""
    events = drive(glances(2.0, 1.0, 8), 40)
    times = fired(events, "visual_attention_time_sharing")
    assert len(times) == 1 and abs(times[0] - 14.0) <= PERIOD + 1e-6, times
    assert fired(events, "long_distraction") == []
    (vats,) = [e for _, e in events if e.kind == "visual_attention_time_sharing"]
    assert vats.owl_glances == 5 and vats.lizard_glances == 0  # type: ignore[attr-defined]


def test_two_seconds_back_on_the_road_reset_time_sharing() -> None:
    """Exactly 2 s back (20 frames at 10 fps) is enough (Euro NCAP: >= 2 s), 1.9 s is not."""
    assert fired(drive(glances(2.0, 2.0, 8), 50), "visual_attention_time_sharing") == []
    assert len(fired(drive(glances(2.0, 1.9, 8), 50), "visual_attention_time_sharing")) == 1


def test_glance_counts_start_again_with_time_sharing() -> None:
    """Ten glances with 3 s back after each (reset every time), then five close together:
    the event counts the five."""
    def script(t: float) -> At:
        if t < 40:
            return At(yaw=40.0) if t % 4 < 1 else At()
        return glances(2.0, 1.0, 5)(t - 40)
    (vats,) = [e for _, e in drive(script, 60) if e.kind == "visual_attention_time_sharing"]
    assert vats.owl_glances == 5  # type: ignore[attr-defined]


def test_a_track_starting_mid_shoulder_check_does_not_take_it_for_the_road() -> None:
    """The first 3.5 s of a new track look over the shoulder (yaw 40), then the road for two
    minutes: the neutral pose settles on the road and nothing fires."""
    rule, memory = DriverRule(DriverConfig()), RuleMemory()
    events: list[Event] = []
    for i in range(int(125 * FPS)):
        t = i / FPS
        yaw = 40.0 if t < 3.5 else 0.0
        track = snapshot(1, frame=i, last=t, last_analysed_frame=i, pose_now=(yaw, 0.0, 0.0),
                         gaze_now=(0.0, 0.0), eyes_visible=True)
        events += rule.evaluate(track, memory, Now("cam", i, t, "w"))
    assert events == []


def closed_between(start: float, end: float) -> Callable[[float], At]:
    return lambda t: At(closed=True) if start <= t < end else At()


def test_microsleep_and_sleep_at_their_thresholds_a_blink_raises_nothing() -> None:
    assert drive(closed_between(1.0, 1.3), 10) == []  # a 0.3 s blink
    micro = drive(closed_between(1.0, 2.5), 10)
    assert on_time(fired(micro, "microsleep"), 1.0, 0.5)
    assert fired(micro, "sleep") == []
    asleep = drive(closed_between(1.0, 5.0), 10)
    assert on_time(fired(asleep, "microsleep"), 1.0, 0.5)
    assert on_time(fired(asleep, "sleep"), 1.0, 3.0)


def test_unresponsive_counts_looking_away_then_closing_the_eyes_without_a_break() -> None:
    def script(t: float) -> At:
        if 1.0 <= t < 5.0:
            return At(yaw=40.0)
        return At(closed=True) if 5.0 <= t < 9.0 else At()
    events = drive(script, 20)
    assert on_time(fired(events, "unresponsive"), 1.0, 6.0)


def test_distraction_budget_warns_at_five_seconds_empties_at_eleven_and_re_arms() -> None:
    events = drive(lambda t: At(yaw=40.0) if 1.0 <= t < 13.0 or 60 <= t < 67 else At(), 90)
    levels = [(t, e.level) for t, e in events  # type: ignore[attr-defined]
              if e.kind == "distraction_budget"]
    assert [lv for _, lv in levels] == ["warning", "exhausted", "warning"]
    # the budget drains by the interval before each away sample: within a frame of 5 s, 11 s
    assert abs(levels[0][0] - 1.0 - 5.0) <= PERIOD + 1e-6
    assert abs(levels[1][0] - 1.0 - 11.0) <= PERIOD + 1e-6


def test_a_closure_with_some_unreadable_frames_is_still_one_closure() -> None:
    """Every 4th frame of a 4 s closure cannot be read (low contrast): still one closure,
    with its microsleep and sleep, and no `uncertain`."""
    events = drive(lambda t: At(closed=True, visible=round(t * FPS) % 4 != 3)
                   if 1.0 <= t < 5.0 else At(), 12)
    assert kinds(events) == ["microsleep", "sleep"]


def test_unreadable_eyes_give_uncertain_never_sleep() -> None:
    """Sunglasses (eyes unreadable) for 8 s: `uncertain` after 5 s; no closure is guessed."""
    events = drive(lambda t: At(visible=False, closed=True) if 1.0 <= t < 9.0 else At(), 20)
    assert kinds(events) == ["uncertain"]
    assert on_time(fired(events, "uncertain"), 1.0, 5.0)
    (e,) = [e for _, e in events]
    assert e.reason == "eyes_not_visible"  # type: ignore[attr-defined]


def test_no_face_in_view_gives_uncertain_once_per_absence() -> None:
    events = drive(lambda t: At(present=False) if 1.0 <= t < 8.0 or 20 <= t < 30 else At(), 40)
    assert [e.reason for _, e in events] == ["no_face", "no_face"]  # type: ignore[attr-defined]
    assert all(e.track_id == -1 for _, e in events)
    assert on_time(fired(events, "uncertain")[:1], 1.0, 5.0)


def test_with_a_seat_zone_only_the_driver_is_watched() -> None:
    cfg = DriverConfig(zone="seat")
    passenger = drive(lambda t: At(yaw=40.0), 30, cfg)
    assert kinds(passenger).count("long_distraction") == 0
    assert "uncertain" in kinds(passenger)  # nobody in the seat
    driver = drive(lambda t: At(yaw=40.0 if 1 <= t < 5 else 0.0, zones=("seat",)), 30, cfg)
    assert on_time(fired(driver, "long_distraction"), 1.0, 3.0)


@pytest.mark.parametrize(("perclos_last", "rate_last", "fires"), [
    (0.12, 20.0, True), (0.12, 15.0, False), (0.06, 20.0, False)])
def test_fatigue_trend_compares_the_last_ten_minutes_with_the_first(
        perclos_last: float, rate_last: float, fires: bool) -> None:
    """First 10 min: 15 blinks/min, PERCLOS 0.05; the next 10: the given figures."""
    rule, memory = FatigueTrendRule(MonitoringConfig()), RuleMemory()
    blinks = eye = closed = 0.0
    events: list[tuple[float, Event]] = []
    for i in range(int(1300 * FPS)):
        t = i / FPS
        late = t >= 600
        blinks += (rate_last if late else 15.0) / 60 / FPS
        eye += PERIOD
        closed += (perclos_last if late else 0.05) * PERIOD
        track = snapshot(1, frame=i, last=t, last_analysed_frame=i, blinks=int(blinks),
                         eye_time_s=eye, closed_time_s=closed)
        events += [(t, e) for e in rule.evaluate(track, memory, Now("cam", i, t, "w"))]
    assert [e.kind for _, e in events] == (["fatigue_trend"] if fires else [])
    if fires:  # compared once the last 10 minutes no longer overlap the first ten
        assert 1199 <= events[0][0] <= 1201
