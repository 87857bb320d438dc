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

    repo = Path(__file__).resolve().parents[1]
    render = runpy.run_path(str(repo / "scripts" / "config_docs.py"))["render"]
    assert (repo / "docs" / "config.md").read_text() == render(), (
        "docs/config.md is stale: python scripts/config_docs.py > docs/config.md"
    )
