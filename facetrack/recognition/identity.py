"""``IdentityStage``: who each tracked face is (only when recognition is on).

A track is embedded when its re-id schedule says so and its face passes the filters (size,
frontal, sharp, inside the zone); a filtered face is still tracked, just not embedded. Each
attempt's best match (or unknown, -1) goes into the track's quality-weighted vote; the reported
identity is the vote's, confirmed after ``credence_count`` consistent attempts. The faces get
the ``identity`` column (``similarity`` NaN until a first attempt) and the tracks' snapshots
their ``TrackIdentity``. Faces embedded in this frame carry their vector in ``embedding``
(other rows NaN); nothing writes it to the output files. All per-track state is in the track's
``TrackHistory`` (``IdentityState``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from facetrack.analysis.quality import face_quality_of
from facetrack.analysis.signals import facing_angle
from facetrack.config import RecognitionConfig
from facetrack.faces import Faces, Identity
from facetrack.frames import Frame
from facetrack.recognition.recognizer import FaceRecognizer
from facetrack.recognition.reid import IdentityState
from facetrack.results import FrameResult
from facetrack.tracking.history import TrackHistory
from facetrack.tracks import TrackIdentity
from facetrack.zones import Zone


class IdentityStage:
    def __init__(self, recognizer: FaceRecognizer, config: RecognitionConfig,
                 credence_count: int) -> None:
        self._recognizer = recognizer
        self._config = config
        self._credence = credence_count
        self._zone = None if config.zone is None else Zone.of("recognition", config.zone)
        #: enrolled names met so far, by person id (the one copy; filled from the matches)
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

    def process(self, result: FrameResult) -> FrameResult:
        faces, frame, records = result.faces, result.frame, result.records
        vectors = self._embed_due(frame, faces, records)
        n = len(faces)
        person = np.full(n, -1, np.int64)
        names = np.full(n, None, object)
        similarity = np.full(n, np.nan, np.float32)
        confirmed = np.zeros(n, bool)
        for i, tid in enumerate(faces.track_id.tolist()):
            record = records.get(tid)
            if record is None:
                continue
            pid, sim, ok = record.state_of(IdentityState).vote.identity()
            person[i], similarity[i], confirmed[i] = pid, sim, ok
            names[i] = self.names.get(pid) if pid >= 0 else None
        tracks = tuple(
            dataclasses.replace(s, identity=self._track_identity(records[s.track_id]))
            if s.track_id in records else s for s in result.tracks)
        faces = faces.replace(embedding=vectors,
                              identity=Identity(person, names, similarity, confirmed))
        return result.replace(faces=faces, tracks=tracks)

    def _embed_due(self, frame: Frame, faces: Faces, records: Mapping[int, TrackHistory]
                   ) -> npt.NDArray[np.float32] | None:
        """Embed the faces whose track is due; vote; return the vectors (NaN rows = not
        embedded; None when no face was)."""
        quality = face_quality_of(faces)
        eligible = self.eligible(faces) if len(faces) else np.zeros(0, bool)
        due = [int(i) for i in np.flatnonzero(eligible)
               if int(faces.track_id[i]) in records and records[int(faces.track_id[i])]
               .state_of(IdentityState).schedule.due(frame.index, float(quality[i]))]
        if not due:
            return None
        embedded = self._recognizer.embed_faces(frame.image, faces[np.array(due)])
        _, matches = self._recognizer.identify(embedded)
        assert embedded.embedding is not None
        self.embeddings_computed += len(due)
        for k, (i, match) in enumerate(zip(due, matches, strict=True)):
            state = records[int(faces.track_id[i])].state_of(IdentityState)
            q = float(quality[i])
            sim = -1.0 if math.isnan(match.similarity) else match.similarity
            state.vote.add(match.person_id, sim, q, self._credence)
            state.schedule.record(frame.index, match.person_id, q,
                                  self._config.reid_expiration_frames)
            if np.linalg.norm(embedded.embedding[k]) > 0:
                state.add_embedding(embedded.embedding[k])
            if match.person_id >= 0 and match.name is not None:
                self.names[match.person_id] = match.name
        vectors = np.full((len(faces), embedded.embedding.shape[1]), np.nan, np.float32)
        vectors[np.array(due)] = embedded.embedding
        return vectors

    def _track_identity(self, record: TrackHistory) -> TrackIdentity | None:
        state = record.state_of(IdentityState)
        pid, sim, ok = state.vote.identity()
        if math.isnan(sim):
            return None
        return TrackIdentity(pid, self.names.get(pid) if pid >= 0 else None, sim, ok,
                             embedding=state.mean_embedding)

    def reset(self) -> None:
        """Nothing to forget: the state is in each track's record."""

    def close(self) -> None:
        """The gallery is closed by whoever opened it."""
