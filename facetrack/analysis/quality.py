"""Face quality: the one formula for how useful a face is (best thumbnail, identity votes,
enrolment weights, which view to embed).

``quality = size x detector score [x frontalness x sharpness x landmark score]``, each 0..1:
size is the face height over ``FULL_DETAIL_PX`` (the embedder's 112 px input; larger adds
nothing), frontalness the cosine of the angle from facing the camera, sharpness from the
Laplacian of the face, landmark score Face Mesh's presence score. The bracketed factors are
used where landmarks ran; elsewhere they count as 1, so a face that was not analysed is ranked
by size and score alone. Trading off: a tiny sharp face and a large blurred one can score alike.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from facetrack.faces import Faces

FloatArray = npt.NDArray[np.float32]

#: SFace's input is 112 px: a face this tall or taller gives the embedder full detail
FULL_DETAIL_PX = 112.0


def face_quality(
    heights: npt.ArrayLike,
    scores: npt.ArrayLike,
    frontal: npt.ArrayLike | None = None,
    sharpness: npt.ArrayLike | None = None,
    landmark_score: npt.ArrayLike | None = None,
) -> FloatArray:
    """0..1 per face (see the module docstring); missing factors count as 1."""
    q = np.clip(np.asarray(heights, np.float64) / FULL_DETAIL_PX, 0.0, 1.0)
    q = q * np.clip(np.asarray(scores, np.float64), 0.0, 1.0)
    for factor in (frontal, sharpness, landmark_score):
        if factor is not None:
            q = q * np.clip(np.nan_to_num(np.asarray(factor, np.float64)), 0.0, 1.0)
    return np.asarray(q, np.float32)


def face_quality_of(faces: Faces) -> FloatArray:
    """The quality of each face of ``faces``: the analyser's where it ran, else size x score."""
    plain = face_quality(faces.wh[:, 1], faces.score) if len(faces) else np.zeros(0, np.float32)
    q = faces.attrs.get("quality")
    analysed = faces.attrs.get("analysed")
    if q is None or analysed is None:
        return plain
    return np.asarray(np.where(analysed, q, plain), np.float32)
