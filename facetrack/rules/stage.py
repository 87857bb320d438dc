"""``RulesStage``: every rule over every track of a frame; the events go into the result.

Times are the frames' timestamps (seconds on the source's clock), so a file replays to the
same events as the live camera it was recorded from; the wall time (UTC) comes from the
injected ``clock``, read once per frame."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from facetrack.config.analytics import AnalyticsConfig
from facetrack.config.camera import EventsConfig
from facetrack.config.pipeline import AnalysisConfig
from facetrack.events import Event, ProlongedClosure, utc_now
from facetrack.results import FrameResult
from facetrack.rules.attention import AttentionRule, DistractedRule
from facetrack.rules.base import Now, Rule, RuleMemory
from facetrack.rules.driver import DriverRule
from facetrack.rules.eyes import DrowsyRule, EyesClosedRule
from facetrack.rules.identity import IdentityRule
from facetrack.rules.lifecycle import Lifecycle
from facetrack.rules.monitoring import FatigueTrendRule
from facetrack.rules.scene import NoFaceRule, SceneRule
from facetrack.rules.zones import DwellRule


def default_rules(events: EventsConfig, analysis: AnalysisConfig,
                  analytics: AnalyticsConfig | None = None) -> list[Rule]:
    """Every event family of the profile, in the order its events are listed for one track;
    with audience analytics on, ``attention`` too (any profile)."""
    common: list[Rule] = [Lifecycle(), IdentityRule()]
    if analytics is not None and analytics.enabled:
        common.append(AttentionRule())
    drowsy = DrowsyRule(events.drowsy_perclos, analysis.perclos_window_s)
    if events.profile == "driver":
        return [*common, DriverRule(events.driver), drowsy]
    if events.profile == "monitoring":
        return [*common, EyesClosedRule(events.monitoring.eyes_closed_s, ProlongedClosure),
                drowsy, FatigueTrendRule(events.monitoring)]
    return [*common, EyesClosedRule(events.eyes_closed_s), drowsy,
            DistractedRule(events.distracted_s), DwellRule(events.dwell_s)]


def scene_rules(events: EventsConfig) -> list[SceneRule]:
    """The profile's rules over whole frames (nobody watched in view)."""
    if events.profile == "driver":
        return [NoFaceRule(events.driver.uncertain_s, events.driver.zone)]
    if events.profile == "monitoring":
        return [NoFaceRule(events.monitoring.no_face_s)]
    return []


class RulesStage:
    def __init__(self, camera: str, rules: Sequence[Rule],
                 clock: Callable[[], str] = utc_now, scene: Sequence[SceneRule] = ()) -> None:
        self.camera = camera
        self.rules = list(rules)
        self.scene = list(scene)
        self.clock = clock

    def process(self, result: FrameResult) -> FrameResult:
        frame = result.frame
        now = Now(self.camera, frame.index, frame.timestamp, self.clock())
        events: list[Event] = []
        for track in result.tracks:
            record = result.records.get(track.track_id)
            memory = record.state_of(RuleMemory) if record is not None else RuleMemory()
            for rule in self.rules:
                events += rule.evaluate(track, memory, now)
        for scene_rule in self.scene:
            events += scene_rule.evaluate(result.tracks, now)
        return result.replace(events=(*result.events, *events)) if events else result

    def reset(self) -> None:
        """Each track's memory is in its record; the scene rules forget the camera's."""
        for scene_rule in self.scene:
            scene_rule.reset()

    def close(self) -> None:
        """Nothing held."""
