from __future__ import annotations

from pathlib import Path

import pytest

from facetrack.config import TrackerConfig
from facetrack.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "cfg.yaml"
    p.write_text(text)
    return p


def test_defaults_are_consistent() -> None:
    cfg = TrackerConfig()
    assert cfg.detector.score_threshold <= cfg.tracking.high_score <= cfg.tracking.new_track_score
    assert cfg.tracking.credence_count >= 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tracking:\n  credence: 3\n", "unknown key 'tracking.credence'"),
        ("detector:\n  score_threshold: 2\n", "detector.score_threshold: Input should be less"),
        ("tracking: [1, 2\n", "invalid YAML (line"),
        ("- a\n- b\n", "config must be a mapping"),
        ("detector:\n  score_threshold: 0.9\n", "must not exceed tracking.high_score"),
        ("analysis:\n  face_rate_hz: 10\ntracking:\n  detect_interval: 5\n",
         "analysis.face_rate_hz leaves unread between reads"),
        ("analysis:\n  face_rate_hz: -1\n", "analysis.face_rate_hz: Input should be greater"),
    ],
)
def test_bad_config_names_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        TrackerConfig.from_yaml(path)
    assert str(path) in str(err.value)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config"):
        TrackerConfig.from_yaml(tmp_path / "nope.yaml")


def test_partial_config_keeps_other_defaults(tmp_path: Path) -> None:
    cfg = TrackerConfig.from_yaml(write(tmp_path, "tracking:\n  credence_count: 5\n"))
    assert cfg.tracking.credence_count == 5
    assert cfg.detector == TrackerConfig().detector
    assert TrackerConfig.from_yaml(write(tmp_path, "")) == TrackerConfig()


def test_docs_page_is_generated_from_the_config() -> None:
    import runpy

    repo = Path(__file__).resolve().parents[3]
    render = runpy.run_path(str(repo / "scripts" / "config_docs.py"))["render"]
    assert (repo / "docs" / "config.md").read_text() == render(), (
        "docs/config.md is stale: python scripts/config_docs.py > docs/config.md"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tracking:\n  credence_count: 3\n  credence_count: 4\n",
         "key 'credence_count' appears twice"),
        ("tracking:\n  recover_distance: .inf\n", "tracking.recover_distance: Input should be "
         "a finite number"),
        ("tracking:\n  coast_damping: .nan\n", "tracking.coast_damping: Input should be a "
         "finite number"),
        ("tracking:\n  credence_count: " + "9" * 5000 + "\n", "invalid YAML"),
        ("a: " + "[" * 40 + "]" * 40 + "\n", "nested more than 32 levels"),
        ("!!python/object:os.system {}\n", "invalid YAML"),
    ],
)
def test_hostile_or_mistaken_yaml_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        TrackerConfig.from_yaml(path)
    assert message in str(err.value) and str(path) in str(err.value)
    assert "\n" not in str(err.value)


def test_yaml_12_booleans_keep_the_key_on(tmp_path: Path) -> None:
    """YAML 1.1 reads `on` as true: the documented `alerts: {on: [...]}` lost its key."""
    from facetrack.config.base import parse_yaml

    assert parse_yaml("on: [drowsy]\noff: 1\nyes: no\n") == {"on": ["drowsy"], "off": 1,
                                                             "yes": "no"}
    assert parse_yaml("a: true\nb: False\n") == {"a": True, "b": False}
    # boolean settings still take yes/on/off (pydantic reads those words)
    cfg = TrackerConfig.from_yaml(write(tmp_path, "tracking:\n  scene_cuts: off\n"))
    assert cfg.tracking.scene_cuts is False


def test_a_huge_config_is_refused_before_parsing(tmp_path: Path) -> None:
    path = write(tmp_path, "# " + "x" * (1 << 20) + "\n")
    with pytest.raises(ConfigError, match="larger than 1024 KiB"):
        TrackerConfig.from_yaml(path)


def test_a_file_name_with_escape_sequences_is_printed_harmless(tmp_path: Path) -> None:
    path = tmp_path / "bad\x1b[31m.yaml"
    path.write_text("tracking: 3\n")
    with pytest.raises(ConfigError) as err:
        TrackerConfig.from_yaml(path)
    assert "\x1b" not in str(err.value) and "\\x1b[31m" in str(err.value)


def test_override_validates_like_a_file() -> None:
    from facetrack.config import override

    cfg = override(TrackerConfig(), {"tracking.credence_count": 5,
                                     "recognition.embedder": {"kind": "sface"}})
    assert cfg.tracking.credence_count == 5
    with pytest.raises(ConfigError, match=r"settings: tracking\.credence_count"):
        override(cfg, {"tracking.credence_count": 0})
    with pytest.raises(ConfigError, match=r"needs recognition\.database"):
        override(cfg, {"recognition.enabled": True})


def test_detector_kind_picks_the_backend() -> None:
    from facetrack.detection import BACKENDS, make_detector

    cfg = TrackerConfig.model_validate({"detector": {"kind": "yunet"}})
    assert type(make_detector(cfg.detector)) is BACKENDS["yunet"]
    with pytest.raises(ValueError, match=r"detector\.kind"):
        TrackerConfig.model_validate({"detector": {"kind": "mtcnn"}})


def test_a_removed_analysis_key_names_what_replaced_it() -> None:
    with pytest.raises(ValueError, match="open_ear_prior was removed"):
        TrackerConfig.model_validate({"analysis": {"open_ear_prior": 0.3}})


def test_driver_calibration_that_never_ends_is_refused() -> None:
    from facetrack.config.profiles import DriverConfig

    with pytest.raises(ValueError, match="distraction would never be judged"):
        DriverConfig(calibration_s=5.0, min_calibration_s=10.0)
