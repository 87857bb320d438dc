"""``FaceRecognizer``: who is in an image, and are two faces the same person.

The threshold has one meaning everywhere: cosine similarity between unit embeddings, higher is
more alike; at or above ``RecognitionConfig.threshold`` two faces are the same person.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

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
        """Cosine similarity of the most prominent face (largest x score) of each image and
        the same/different decision at the configured threshold."""
        vectors = []
        for source in (image_a, image_b):
            image, faces = self._detect((0, source))
            if len(faces) == 0:
                raise InputError(f"{_name(source)}: no face found")
            best = int(np.argmax(faces.wh[:, 1] * faces.score))
            vectors.append(self._embedder.embed(image, faces.keypoints[best:best + 1])[0])
        sim = float(vectors[0] @ vectors[1])
        return Verification(sim, sim >= self.threshold, self.threshold)


def _name(source: ImageLike) -> str:
    return str(source) if isinstance(source, (str, Path)) else "image array"


def _load(source: ImageLike) -> npt.NDArray[np.uint8]:
    if isinstance(source, (str, Path)):
        return read_image(Path(source))
    image = np.asarray(source)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise InputError(f"image array must be HxWx3 uint8 BGR, got {image.dtype} {image.shape}")
    return image
