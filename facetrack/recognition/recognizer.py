"""``FaceRecognizer``: who is in an image, and are two faces the same person.

The threshold has one meaning everywhere: cosine similarity between unit embeddings, higher is
more alike; at or above ``RecognitionConfig.threshold`` two faces are the same person.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
import numpy.typing as npt

from facetrack.config import DetectorConfig, RecognitionConfig
from facetrack.detection import Detector, make_detector
from facetrack.errors import InputError, ModelMismatchError
from facetrack.faces import Faces, Identity
from facetrack.frames import Frame
from facetrack.recognition.embedder import Embedder, make_embedder
from facetrack.runtime import run_stages
from facetrack.sources.images import read_image

FloatArray = npt.NDArray[np.float32]
ImageLike = str | Path | npt.NDArray[np.uint8]

#: a face at least this share of its image's height makes the image a tight crop (verify):
#: lfw_pairs scores the same with any value from 0.4 to 0.65 (docs/benchmarks.md)
TIGHT_CROP = 0.5
#: the black border added around a tight crop, as a share of its long side on every side
CROP_BORDER = 0.3


@dataclass(frozen=True)
class Match:
    """Best enrolled person for one face: ``person_id`` -1 and ``name`` None when unknown."""

    person_id: int
    name: str | None
    similarity: float


class GalleryMatch(Protocol):
    @property
    def person_id(self) -> int: ...

    @property
    def name(self) -> str: ...

    @property
    def similarity(self) -> float: ...


class Gallery(Protocol):
    """What the recognizer needs of a face database (``FaceDatabase`` is one): the model its
    vectors came from, and the most similar people for each query vector, best first."""

    @property
    def model_id(self) -> str | None: ...

    def search(self, vectors: FloatArray, model_id: str, k: int = 1
               ) -> Sequence[Sequence[GalleryMatch]]: ...


@dataclass(frozen=True)
class Verification:
    similarity: float
    same: bool
    threshold: float


class FaceRecognizer:
    """Detect, align, embed and (with a gallery) identify faces in still images.

    ``predict(image)`` returns ``Faces`` with ``embedding`` and the ``identity`` column
    (``person_id`` -1 = unknown, ``name``, ``similarity``), plus the matches;
    ``predict_batch(images)`` does the same for an iterable with decoding, detection and
    embedding overlapped on separate threads, results in input order; ``verify(a, b)``
    compares the most prominent face of two images.
    """

    def __init__(
        self,
        config: RecognitionConfig | None = None,
        *,
        gallery: Gallery | None = None,
        detector: Detector | None = None,
        embedder: Embedder | None = None,
        detector_config: DetectorConfig | None = None,
    ) -> None:
        self.config = config or RecognitionConfig()
        self._detector = detector or make_detector(detector_config or DetectorConfig())
        self._embedder = embedder or make_embedder(self.config.embedder)
        self._gallery = gallery
        if gallery is not None and gallery.model_id not in (None, self._embedder.model_id):
            raise ModelMismatchError(
                f"the face database holds vectors of {gallery.model_id}, but the embedder is "
                f"{self._embedder.model_id}; re-enrol with this model or configure that one"
            )

    @property
    def threshold(self) -> float:
        return self.config.threshold

    @property
    def detector(self) -> Detector:
        return self._detector

    @property
    def embedder(self) -> Embedder:
        return self._embedder

    def with_gallery(self, gallery: Gallery) -> FaceRecognizer:
        """The same models, matching against ``gallery`` (nothing is loaded again)."""
        return FaceRecognizer(self.config, gallery=gallery, detector=self._detector,
                              embedder=self._embedder)

    def detect(self, image: ImageLike) -> Faces:
        """Every face of ``image`` (boxes, scores, keypoints), without embedding them."""
        return self._detect((0, image))[1]

    def embed_faces(self, image: npt.NDArray[np.uint8], faces: Faces) -> Faces:
        """``faces`` with ``embedding`` set (rows shorter than ``min_face_size`` get zeros and
        are never matched)."""
        vectors = np.zeros((len(faces), self._embedder.dim), np.float32)
        big = faces.wh[:, 1] >= self.config.min_face_size if len(faces) else np.zeros(0, bool)
        if big.any():
            vectors[big] = self._embedder.embed(image, faces.keypoints[big])
        return faces.replace(embedding=vectors)

    def identify(self, faces: Faces) -> tuple[Faces, list[Match]]:
        """Match embedded faces to the gallery; below the threshold a face is unknown. The
        faces get the ``identity`` column (``confirmed``: matched at or above the threshold)."""
        n = len(faces)
        person = np.full(n, -1, np.int64)
        similarity = np.full(n, np.nan, np.float32)
        matches = [Match(-1, None, float("nan")) for _ in range(n)]
        emb = faces.embedding
        if emb is not None and n and self._gallery is not None:
            rows = np.flatnonzero(np.linalg.norm(emb, axis=1) > 0)
            if len(rows):
                found = self._gallery.search(emb[rows], self._embedder.model_id, k=1)
                for row, best in zip(rows, found, strict=True):
                    if not best:  # empty database
                        continue
                    top = best[0]
                    sim = float(top.similarity)
                    similarity[row] = sim
                    if sim >= self.threshold:
                        person[row] = top.person_id
                        matches[row] = Match(top.person_id, top.name, sim)
                    else:
                        matches[row] = Match(-1, None, sim)
        names = np.empty(n, object)
        names[:] = [m.name for m in matches]
        return faces.replace(identity=Identity(person, names, similarity, person >= 0)), matches

    def _detect(self, item: tuple[int, ImageLike]) -> tuple[npt.NDArray[np.uint8], Faces]:
        index, source = item
        image = _load(source)
        return image, self._detector.detect(Frame(image, "image", index, 0.0))

    def _embed_and_identify(
        self, item: tuple[npt.NDArray[np.uint8], Faces]
    ) -> tuple[Faces, list[Match]]:
        image, faces = item
        return self.identify(self.embed_faces(image, faces))

    def predict(self, image: ImageLike) -> tuple[Faces, list[Match]]:
        """Every face of ``image`` (a path or a BGR array) with its embedding and identity."""
        return self._embed_and_identify(self._detect((0, image)))

    def predict_batch(self, images: Iterable[ImageLike]) -> Iterator[tuple[Faces, list[Match]]]:
        """``predict`` over many images, pipelined (load+detect | embed+identify), in order."""
        yield from run_stages(
            enumerate(images), [self._detect, self._embed_and_identify], names=["detect", "embed"]
        )

    def verify(self, image_a: ImageLike, image_b: ImageLike) -> Verification:
        """Cosine similarity of the main face of each image and the same/different decision at
        the configured threshold. The main face is the most prominent (largest x score); in a
        tight crop (no face found, or one at least ``TIGHT_CROP`` of the image's height), the
        face nearest the centre of the image with a border added (``main_face``)."""
        vectors = []
        for source in (image_a, image_b):
            image, keypoints = self.main_face(source)
            vectors.append(self._embedder.embed(image, keypoints)[0])
        sim = float(vectors[0] @ vectors[1])
        return Verification(sim, sim >= self.threshold, self.threshold)

    def main_face(self, source: ImageLike) -> tuple[npt.NDArray[np.uint8], FloatArray]:
        """The image to embed from and the 5 keypoints (1, 5, 2) of its main face. A face that
        fills its image (LFW-style crops) is missed or misplaced by the detector, which needs
        context around it: such an image is searched again with a black border of
        ``CROP_BORDER`` of its long side, and the face nearest the centre (in units of its own
        size) is kept."""
        image, faces = self._detect((0, source))
        if len(faces) == 0 or float(faces.wh[:, 1].max()) >= TIGHT_CROP * image.shape[0]:
            border = round(CROP_BORDER * max(image.shape[:2]))
            padded = np.asarray(cv2.copyMakeBorder(image, border, border, border, border,
                                                   cv2.BORDER_CONSTANT, value=(0, 0, 0)),
                                np.uint8)
            found = self._detector.detect(Frame(padded, "image", 0, 0.0))
            if len(found):
                k = _central(found, padded.shape[1], padded.shape[0])
                return padded, found.keypoints[k:k + 1]
        if len(faces) == 0:
            raise InputError(f"{_name(source)}: no face found")
        best = int(np.argmax(faces.wh[:, 1] * faces.score))
        return image, faces.keypoints[best:best + 1]


def _central(faces: Faces, width: int, height: int) -> int:
    """The face whose centre is nearest the image's, in units of its own size."""
    centres = (faces.xyxy[:, :2] + faces.xyxy[:, 2:]) / 2
    dist = np.linalg.norm(centres - np.array([width / 2, height / 2]), axis=1)
    return int(np.argmin(dist / np.sqrt(np.maximum(np.prod(faces.wh, axis=1), 1e-6))))


def _name(source: ImageLike) -> str:
    return str(source) if isinstance(source, (str, Path)) else "image array"


def _load(source: ImageLike) -> npt.NDArray[np.uint8]:
    if isinstance(source, (str, Path)):
        return read_image(Path(source))
    image = np.asarray(source)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise InputError(f"image array must be HxWx3 uint8 BGR, got {image.dtype} {image.shape}")
    return image
