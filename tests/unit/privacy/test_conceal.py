"""Hiding faces: the styles leave no detail, boxes grow and clip, the tracker names what to
hide (unconfirmed faces and coasting tracks too), and the privacy settings agree."""

from __future__ import annotations

import numpy as np
import pytest

from facetrack.config import ConfigError, TrackerConfig
from facetrack.config.pipeline import TrackingConfig
from facetrack.faces import Faces
from facetrack.frames import Frame
from facetrack.privacy.conceal import conceal, grown
from facetrack.privacy.detail import RECOGNISABLE, retained
from facetrack.results import FrameResult
from facetrack.tracking import FaceTrackerCore
from facetrack.tracking.stage import TrackStage


def _textured(h: int = 240, w: int = 320, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (h // 8, w // 8, 3), dtype=np.uint8)
    return np.kron(base, np.ones((8, 8, 1), np.uint8))  # 8-pixel features, like eyes


BOX = np.array([100.0, 60.0, 180.0, 160.0])


def test_the_detail_measure_sees_an_untouched_a_hidden_and_a_half_hidden_face() -> None:
    image = _textured()
    assert retained(image, image.copy(), BOX) == pytest.approx(1.0)
    half = image.copy()
    half[60:160, 140:180] = 128  # the right half filled
    assert 0.3 < (retained(image, half, BOX) or 0) < 0.7
    assert retained(image, image, [0, 0, 4, 4]) is None  # too small to judge


@pytest.mark.parametrize("style", ["blur", "pixelate", "fill"])
def test_every_style_leaves_nothing_recognisable(style: str) -> None:
    image = _textured()
    out = image.copy()
    conceal(out, [BOX], style, margin=0.35)
    share = retained(image, out, BOX)
    assert share is not None and share < 0.15 < RECOGNISABLE
    # the margin covers the head around the box; the rest of the picture is untouched
    assert retained(image, out, [110, 40, 170, 60]) < 0.3  # above the box: hair
    assert np.array_equal(out[:, :60], image[:, :60])


def test_boxes_grow_by_the_margin_and_stay_in_the_image() -> None:
    g = grown([[10, 10, 30, 50], [300, 200, 340, 260], [5, 5, 5, 9]], 0.5, 320, 240)
    assert g.tolist() == [[0, 0, 40, 70], [280, 170, 320, 240]]  # the empty box dropped


def test_the_tracker_hides_unconfirmed_faces_and_coasting_tracks() -> None:
    stage = TrackStage(FaceTrackerCore(TrackingConfig()))
    image = np.zeros((240, 320, 3), np.uint8)

    def step(i: int, boxes: list[list[float]]) -> FrameResult:
        faces = Faces.from_arrays(boxes, [0.9] * len(boxes)) if boxes else Faces.empty()
        return stage.process(FrameResult(Frame(image, "cam", i, i / 25), faces))

    first = step(0, [[100, 60, 140, 110]])
    assert len(first.faces) == 0  # not confirmed yet: no face in the results...
    assert len(first.hidden) == 1  # ...but hidden in every picture
    for i in range(1, 6):
        seen = step(i, [[100 + 2 * i, 60, 140 + 2 * i, 110]])
    assert len(seen.faces) == 1 and len(seen.hidden) == 1  # its detection, once
    missed = step(6, [])  # the detector misses it: its track coasts, and is still hidden
    assert len(missed.faces) == 0 and len(missed.hidden) == 1
    x1, _y1, x2, _y2 = missed.hidden[0]
    assert 105 < x1 < 120 and 145 < x2 < 160  # where the track predicts it


def test_privacy_modes_follow_recognition_and_refuse_contradictions() -> None:
    assert TrackerConfig().privacy_mode == "anonymous" and TrackerConfig().blur_faces
    recog = {"recognition": {"enabled": True, "database": "faces.db"}}
    cfg = TrackerConfig.model_validate(recog)
    assert cfg.privacy_mode == "identified" and not cfg.blur_faces
    assert TrackerConfig.model_validate({**recog, "privacy": {"blur": True}}).blur_faces
    with pytest.raises((ConfigError, ValueError), match=r"recognition needs privacy\.mode"):
        TrackerConfig.model_validate({**recog, "privacy": {"mode": "anonymous"}})
    with pytest.raises((ConfigError, ValueError), match="cannot be false"):
        TrackerConfig.model_validate({"privacy": {"blur": False}})
    assert not TrackerConfig.model_validate(
        {"privacy": {"mode": "identified", "blur": False}}).blur_faces
