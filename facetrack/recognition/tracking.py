"""Identity on tracks: the recognition stage of the pipeline (only when recognition is on)."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from facetrack.analysis.signals import facing_angle
from facetrack.config import RecognitionConfig
from facetrack.faces import Faces
from facetrack.frames import Frame
from facetrack.recognition.recognizer import FaceRecognizer
from facetrack.recognition.reid import IdentityVote, ReidScheduler
from facetrack.zones import Zone

_FORGET_FRAMES = 1500  # drop the state of a track unseen this long


class TrackRecognizer:
    """``recognize(frame, faces) -> Faces`` with ``person_id``, ``similarity`` and
    ``identity_confirmed`` per tracked face.

    A track is embedded when the adaptive re-id schedule says so (``ReidScheduler``) and its
    face passes the filters (size, frontal, sharp, inside the zone); a filtered face is still
    tracked, just not embedded. Each attempt's best match (or unknown, -1) goes into the track's
    quality-weighted vote (``IdentityVote``); the reported identity is the vote's, confirmed
    after ``credence_count`` consistent attempts. ``similarity`` is NaN until a first attempt.
    Faces embedded in this frame carry their vector in ``embedding`` (other rows NaN; no
    ``embedding`` at all when none was embedded); nothing writes it to the output files.
    """

    def __init__(
        self, recognizer: FaceRecognizer, config: RecognitionConfig, credence_count: int
    ) -> None:
        self._recognizer = recognizer
        self._config = config
        self._scheduler = ReidScheduler(config.reid_expiration_frames)
        self._votes = IdentityVote(credence_count)
        self._last_seen: dict[int, int] = {}
        self._zone = None if config.zone is None else Zone.of("recognition", config.zone)
        #: enrolled names met so far, by person id (for the output files)
        self.names: dict[int, str] = {}
        #: embeddings computed so far (the cost adaptive re-id saves)
        self.embeddings_computed = 0

    def eligible(self, faces: Faces) -> npt.NDArray[np.bool_]:
        """Faces that may be embedded: tracked, big, frontal and sharp enough, in the zone."""
        cfg = self._config
        ok = (faces.track_id >= 0) & (faces.wh[:, 1] >= cfg.min_face_size)
        attrs = faces.attrs
        analysed = attrs.get("analysed")
        if analysed is not None:
            known = analysed.astype(bool)
            if "head_pose" in attrs:
                angle = facing_angle(attrs["head_pose"][:, :2])
                ok &= ~known | (angle <= cfg.frontal_max_deg)
            if "sharpness" in attrs:
                ok &= ~known | (np.nan_to_num(attrs["sharpness"]) >= cfg.min_sharpness)
        if self._zone is not None:
            ok &= self._zone.contains_boxes(faces.xyxy)
        return np.asarray(ok, bool)

    def recognize(self, frame: Frame, faces: Faces) -> Faces:
        n = len(faces)
        quality = face_quality_of(faces)
        eligible = self.eligible(faces) if n else np.zeros(0, bool)
        due = [
            int(i) for i in np.flatnonzero(eligible)
            if self._scheduler.due(int(faces.track_id[i]), frame.index, float(quality[i]))
        ]
        if due:
            subset = faces[np.array(due)]
            embedded = self._recognizer.embed_faces(frame.image, subset)
            _, matches = self._recognizer.identify(embedded)
            self.embeddings_computed += len(due)
            for i, match in zip(due, matches, strict=True):
                tid, q = int(faces.track_id[i]), float(quality[i])
                sim = -1.0 if math.isnan(match.similarity) else match.similarity
                self._votes.add(tid, match.person_id, sim, q)
                self._scheduler.record(tid, frame.index, match.person_id, q)
                if match.person_id >= 0 and match.name is not None:
                    self.names[match.person_id] = match.name
        vectors: npt.NDArray[np.float32] | None = None
        if due:
            assert embedded.embedding is not None
            vectors = np.full((n, embedded.embedding.shape[1]), np.nan, np.float32)
            vectors[np.array(due)] = embedded.embedding
        person = np.full(n, -1, np.int64)
        similarity = np.full(n, np.nan, np.float32)
        confirmed = np.zeros(n, bool)
        for i, tid in enumerate(faces.track_id.tolist()):
            if tid < 0:
                continue
            self._last_seen[tid] = frame.index
            pid, sim, ok = self._votes.identity(tid)
            person[i], similarity[i], confirmed[i] = pid, sim, ok
        self._forget(frame.index)
        return faces.replace(embedding=vectors).with_attrs(
            person_id=person, similarity=similarity, identity_confirmed=confirmed
        )

    def _forget(self, index: int) -> None:
        stale = [t for t, last in self._last_seen.items() if index - last > _FORGET_FRAMES]
        for t in stale:
            del self._last_seen[t]
            self._scheduler.forget(t)
            self._votes.forget(t)


def face_quality_of(faces: Faces) -> npt.NDArray[np.float32]:
    """The analyser's face quality where it ran, else size x detector score."""
    size = np.clip(faces.wh[:, 1] / 112.0, 0.0, 1.0) * faces.score if len(faces) else np.zeros(0)
    q = faces.attrs.get("quality")
    analysed = faces.attrs.get("analysed")
    if q is None or analysed is None:
        return np.asarray(size, np.float32)
    return np.asarray(np.where(analysed, q, size), np.float32)
