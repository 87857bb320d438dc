"""Every Python example in README.md and docs/ runs, on real files standing in for the ones it
names (users copy them; an example that no longer imports is a bug)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from facetrack.recognition.embedder import SFaceEmbedder
from facetrack.recognition.enroll import enroll_images
from facetrack.recognition.gallery import FaceDatabase

REPO = Path(__file__).resolve().parents[2]
_BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def _examples() -> list[tuple[str, str]]:
    out = []
    for page in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        for n, m in enumerate(_BLOCK.finditer(page.read_text(encoding="utf-8")), 1):
            out.append((f"{page.name}#{n}", m.group(1)))
    return out


EXAMPLES = _examples()


@pytest.fixture(scope="module")
def workdir(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """clip.mp4, settings.yaml, faces.db (two people), photo.jpg, a.jpg, b.jpg."""
    from facetrack.config import DetectorConfig
    from facetrack.detection import make_detector

    work = tmp_path_factory.mktemp("docs")
    seq = data_dir / "synth_tracks" / "synth03"
    shutil.copy(seq / "video.mp4", work / "clip.mp4")
    (work / "settings.yaml").write_text("tracking:\n  credence_count: 3\n")
    photos = sorted((seq / "enrollment").glob("*.jpg"))
    for name, photo in zip(("photo.jpg", "a.jpg", "b.jpg"), photos * 3, strict=False):
        shutil.copy(photo, work / name)
    with FaceDatabase(work / "faces.db") as db:
        detector, embedder = make_detector(DetectorConfig()), SFaceEmbedder()
        for photo in photos:
            enroll_images(db, photo.stem, [photo], detector, embedder)
    return work


def test_the_docs_have_python_examples() -> None:
    assert len(EXAMPLES) >= 4


@pytest.mark.data
@pytest.mark.parametrize(("where", "code"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_every_python_example_runs(where: str, code: str, workdir: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(workdir)
    namespace = {"paths": [workdir / "a.jpg", workdir / "b.jpg"], "__name__": "example"}
    exec(compile(code, where, "exec"), namespace)
