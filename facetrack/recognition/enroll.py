"""Enrolment from photos: one face per image, every image checked before anything is written.

Enrolment accepts image files and folders of images (the suffixes facetrack reads, see
``facetrack.sources.images.IMAGE_SUFFIXES``; a folder's images, not its sub-folders); any other
file is refused as not an image. Each image must show exactly one face that is clear enough
(detector score and size thresholds below): an image with none, or with several, could enrol the
wrong person, so the whole enrolment is refused, naming every such file and what was found.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from facetrack.detection import Detector
from facetrack.errors import InputError
from facetrack.frames import Frame
from facetrack.recognition.database import Enrolment, FaceDatabase, normalise_name
from facetrack.recognition.embedder import Embedder, content_hash
from facetrack.sources.images import IMAGE_SUFFIXES, _natural_key

#: SFace's input is 112 px; a face this tall or taller gives the embedder full detail
FULL_DETAIL_PX = 112.0
#: problems listed in the error message before "and N more"
_MAX_LISTED = 5


def collect_images(paths: Sequence[str | Path]) -> list[Path]:
    """The image files named, with a folder standing for its images in natural order."""
    if not paths:
        raise InputError("no images given to enrol")
    suffixes = ", ".join(sorted(IMAGE_SUFFIXES))
    files: list[Path] = []
    for item in map(Path, paths):
        if item.is_dir():
            found = sorted(
                (p for p in item.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
                key=_natural_key,
            )
            if not found:
                raise InputError(f"{item}: folder has no images ({suffixes})")
            files.extend(found)
        elif not item.exists():
            raise InputError(f"{item}: file not found")
        elif item.suffix.lower() not in IMAGE_SUFFIXES:
            raise InputError(f"{item}: not an image (enrolment takes {suffixes} or folders)")
        else:
            files.append(item)
    return files


def face_quality(score: float, height: float) -> float:
    """0..1: the detector's confidence times how much of the embedder's 112 px input the face
    fills. Favours large, clear faces when a track's identity is voted; a tiny sharp face and a
    large blurred one can score alike."""
    return float(np.clip(score, 0.0, 1.0)) * min(1.0, max(height, 0.0) / FULL_DETAIL_PX)


#: with ``largest``, how much taller the largest face must be than the next one
DOMINANT_RATIO = 1.5


def enroll_images(
    db: FaceDatabase,
    name: str,
    paths: Sequence[str | Path],
    detector: Detector,
    embedder: Embedder,
    attrs: Mapping[str, Any] | None = None,
    *,
    min_score: float = 0.5,
    min_face_size: float = 40.0,
    largest: bool = False,
) -> Enrolment:
    """Enrol ``name`` from photos in one transaction; nothing is written unless every image
    shows exactly one face scoring at least ``min_score`` and at least ``min_face_size`` px
    tall (fainter or smaller faces are ignored, not counted). Images already stored for this
    person (same sha256 of the file bytes) are skipped.

    ``largest``: a photo with several faces enrols its largest one, but only when it is clearly
    the subject (at least ``DOMINANT_RATIO`` times taller than the next); otherwise the photo
    is still refused, since picking the wrong person would poison the database."""
    name = normalise_name(name)
    files = collect_images(paths)
    db.check_model(embedder.model_id, embedder.dim)
    vectors: list[np.ndarray[Any, Any]] = []
    qualities: list[float] = []
    sources: list[str] = []
    hashes: list[str] = []
    problems: list[str] = []
    for path in files:
        try:
            data = path.read_bytes()
        except OSError as exc:
            problems.append(f"{path}: cannot read ({exc.strerror or exc})")
            continue
        digest = content_hash(data)
        if digest in hashes:
            continue  # the same file twice in this enrolment
        decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
        if decoded is None:
            problems.append(f"{path}: not a decodable image")
            continue
        image: npt.NDArray[np.uint8] = np.ascontiguousarray(decoded, dtype=np.uint8)
        faces = detector.detect(Frame(image, path.name, 0, 0.0, path=path))
        faces = faces[(faces.score >= min_score) & (faces.wh[:, 1] >= min_face_size)]
        if len(faces) > 1 and largest:
            heights = np.sort(faces.wh[:, 1])[::-1]
            if heights[0] >= DOMINANT_RATIO * heights[1]:
                faces = faces[int(np.argmax(faces.wh[:, 1]))]
            else:
                problems.append(f"{path}: {len(faces)} faces found and none clearly the largest")
                continue
        if len(faces) != 1:
            problems.append(f"{path}: {len(faces)} faces found")
            continue
        if problems:
            continue  # nothing will be written: spare the embedding, keep checking the rest
        vectors.append(embedder.embed(image, faces.keypoints)[0])
        qualities.append(face_quality(float(faces.score[0]), float(faces.wh[0, 1])))
        sources.append(path.name)
        hashes.append(digest)
    if problems:
        more = len(problems) - _MAX_LISTED
        listed = "; ".join(problems[:_MAX_LISTED]) + (f"; and {more} more" if more > 0 else "")
        raise InputError(
            f"nothing enrolled: each image must show exactly one face (score >= {min_score:g}, "
            f"at least {min_face_size:g} px tall): {listed}"
        )
    return db.enroll(
        name, np.stack(vectors), embedder.model_id, qualities, sources, hashes, attrs
    )
