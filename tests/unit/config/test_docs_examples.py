"""Every YAML example in README.md and docs/ loads as the config it shows (users copy them).

A block is read as a monitor config when it has `cameras`, as an analytics layout (`--targets
FILE`) when it has only `targets`, `zones` and `lines`, else as a tracker config; a block
preceded by `<!-- invalid: REASON -->` must fail with REASON in the message instead."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from facetrack.config import TrackerConfig
from facetrack.config.analytics import AudienceLayout
from facetrack.config.base import parse_yaml, validate
from facetrack.config.service import MonitorConfig
from facetrack.errors import ConfigError

REPO = Path(__file__).resolve().parents[3]
_BLOCK = re.compile(r"(?:<!-- invalid: (?P<reason>[^>]*?) -->\s*)?```yaml\n(?P<body>.*?)```",
                    re.S)


def _examples() -> list[tuple[str, str, str | None]]:
    out = []
    for page in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        text = page.read_text(encoding="utf-8")
        for n, m in enumerate(_BLOCK.finditer(text), 1):
            out.append((f"{page.name}#{n}", m.group("body"), m.group("reason")))
    return out


EXAMPLES = _examples()


def test_the_docs_have_yaml_examples() -> None:
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize(("where", "body", "reason"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_every_yaml_example_loads(where: str, body: str, reason: str | None) -> None:
    data = parse_yaml(body, where) or {}
    layout = bool(data) and set(data) <= {"targets", "zones", "lines"}
    cls = MonitorConfig if "cameras" in data else AudienceLayout if layout else TrackerConfig
    if reason is None:
        validate(cls, data, where)
    else:
        with pytest.raises(ConfigError, match=re.escape(reason)):
            validate(cls, data, where)
