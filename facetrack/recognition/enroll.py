"""Enrolment from photos and clips: every input checked before anything is written.

Enrolment accepts image files, folders of images (the suffixes facetrack reads, see
``facetrack.sources.images.IMAGE_SUFFIXES``; a folder's images, not its sub-folders) and video
clips (``VIDEO_SUFFIXES``); any other file is refused. Each image must show exactly one face
that is clear enough (detector score and size thresholds below): an image with none, or with
several, could enrol the wrong person, so the whole enrolment is refused, naming every such file
and what was found. A clip is tracked and the chosen track (``--track``, or the clip's only
person) gives a few of its best, most different faces (``facetrack.recognition.clip_enrol``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from facetrack.detection import Detector
from facetrack.errors import InputError
from facetrack.frames import Frame
from facetrack.recognition.embedder import Embedder, content_hash
from facetrack.recognition.gallery import FaceDatabase
from facetrack.recognition.names import normalise_name
from facetrack.recognition.records import Enrolment
from facetrack.sources.images import IMAGE_SUFFIXES, _natural_key, decode_image
from facetrack.sources.video import VIDEO_SUFFIXES

if TYPE_CHECKING:
    from facetrack.config import TrackerConfig

#: SFace's input is 112 px; a face this tall or taller gives the embedder full detail
FULL_DETAIL_PX = 112.0
#: problems listed in the error message before "and N more"
_MAX_LISTED = 5


def collect_inputs(paths: Sequence[str | Path]) -> tuple[list[Path], list[Path]]:
    """``(images, videos)`` named: a folder stands for its images in natural order."""
    if not paths:
        raise InputError("no images or clips given to enrol")
    images: list[Path] = []
    videos: list[Path] = []
    for item in map(Path, paths):
        if item.is_file() and item.suffix.lower() in VIDEO_SUFFIXES:
            videos.append(item)
        elif item.is_dir():
            images.extend(collect_images([item]))
        else:
            images.extend(collect_images([item], clips=True))
    return images, videos


def collect_images(paths: Sequence[str | Path], clips: bool = False) -> list[Path]:
    """The image files named, with a folder standing for its images in natural order."""
    if not paths:
        raise InputError("no images given to enrol")
    suffixes = ", ".join(sorted(IMAGE_SUFFIXES | (VIDEO_SUFFIXES if clips else set())))
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
            what = "an image or a clip" if clips else "an image"
            raise InputError(f"{item}: not {what} (enrolment takes {suffixes} or folders)")
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


@dataclass
class _Rows:
    """Embeddings ready to be written in one transaction."""

    vectors: list[np.ndarray[Any, Any]] = field(default_factory=list)
    qualities: list[float] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)

    def add(self, vector: np.ndarray[Any, Any], quality: float, source: str, digest: str
            ) -> None:
        if digest in self.hashes:
            return  # the same image or crop twice in this enrolment
        self.vectors.append(vector)
        self.qualities.append(quality)
        self.sources.append(source)
        self.hashes.append(digest)

    def write(self, db: FaceDatabase, name: str, model_id: str,
              attrs: Mapping[str, Any] | None) -> Enrolment:
        return db.enroll(name, np.stack(self.vectors), model_id, self.qualities, self.sources,
                         self.hashes, attrs)


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
    rows = _Rows()
    _image_rows(rows, files, detector, embedder, min_score, min_face_size, largest)
    return rows.write(db, name, embedder.model_id, attrs)


def _image_rows(
    rows: _Rows, files: Sequence[Path], detector: Detector, embedder: Embedder,
    min_score: float, min_face_size: float, largest: bool,
) -> None:
    problems: list[str] = []
    for path in files:
        try:
            data = path.read_bytes()
        except OSError as exc:
            problems.append(f"{path}: cannot read ({exc.strerror or exc})")
            continue
        digest = content_hash(data)
        if digest in rows.hashes:
            continue  # the same file twice in this enrolment
        try:
            image: npt.NDArray[np.uint8] = decode_image(data, path)
        except InputError as exc:
            problems.append(str(exc))
            continue
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
        rows.add(embedder.embed(image, faces.keypoints)[0],
                 face_quality(float(faces.score[0]), float(faces.wh[0, 1])), path.name, digest)
    if problems:
        more = len(problems) - _MAX_LISTED
        listed = "; ".join(problems[:_MAX_LISTED]) + (f"; and {more} more" if more > 0 else "")
        raise InputError(
            f"nothing enrolled: each image must show exactly one face (score >= {min_score:g}, "
            f"at least {min_face_size:g} px tall): {listed}"
        )


def enroll_files(
    db: FaceDatabase,
    name: str,
    paths: Sequence[str | Path],
    config: TrackerConfig,
    attrs: Mapping[str, Any] | None = None,
    *,
    track: int | None = None,
    largest: bool = False,
    max_embeddings: int = 5,
    detector: Detector | None = None,
    embedder: Embedder | None = None,
    progress: Callable[[str, int, int | None], None] | None = None,
) -> Enrolment:
    """Enrol ``name`` from photos, folders and clips in one transaction (all or nothing).

    Each clip is tracked with ``config`` and gives up to ``max_embeddings`` of the chosen
    track's best, most different faces; ``track`` picks that track (ids as ``facetrack track``
    numbers them with the same config) and needs exactly one clip; without it a clip must show
    one person (tracks of a person who left and came back count once), or, with ``largest``,
    one clearly dominant person. ``progress(clip_name, frames_done, frame_count)``."""
    from facetrack.detection import make_detector
    from facetrack.recognition.clip_enrol import clip_samples, sample_source
    from facetrack.recognition.embedder import make_embedder

    name = normalise_name(name)
    images, videos = collect_inputs(paths)
    if track is not None and (len(videos) != 1 or images):
        raise InputError(f"--track picks a track of one clip; got {len(videos)} clip(s) and "
                         f"{len(images)} image(s)")
    if embedder is None:
        embedder = make_embedder(config.recognition.embedder)
    db.check_model(embedder.model_id, embedder.dim)
    rows = _Rows()
    if images:
        detector = detector if detector is not None else make_detector(config.detector)
        _image_rows(rows, images, detector, embedder, 0.5, config.recognition.min_face_size,
                    largest)
    for video in videos:
        report = None if progress is None else (
            lambda done, total, v=str(video): progress(v, done, total))
        clip = clip_samples(video, config, track=track, largest=largest,
                            max_embeddings=max_embeddings, progress=report, embedder=embedder)
        for sample in clip.samples:
            rows.add(sample.vector, sample.quality, sample_source(clip.source, sample),
                     sample.content_hash)
    return rows.write(db, name, embedder.model_id, attrs)
