"""Faces in uploaded images: detect (boxes, keypoints, head pose, optionally who), verify
(are two images the same person) and recognize (who is this). The models load on first use
and run one call at a time; every call that compares a face with the database is audited.

Uploads are decoded only after their header is checked (``decode_image``: no decompression
bomb is ever decoded), and nothing uploaded is stored.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, File, HTTPException, Query, UploadFile

from facetrack.analysis.keypoint_pose import keypoint_pose
from facetrack.api.auth import Operator, Principal, Svc
from facetrack.api.context import Services
from facetrack.errors import InputError
from facetrack.faces import Faces
from facetrack.sources.images import decode_image

router = APIRouter(prefix="/api/faces", tags=["faces"])

Upload = Annotated[UploadFile, File(description="An image (JPEG, PNG, WebP, BMP).")]


def read_upload(upload: UploadFile, svc: Services) -> np.ndarray:
    """The uploaded image's pixels, or a 400/413 naming what is wrong with it."""
    name = (upload.filename or "upload")[:100]
    data = upload.file.read()
    if not data:
        raise InputError(f"{name}: empty upload")
    from facetrack.sources.probe import declared_size

    size = declared_size(data)
    if size is None:  # only formats whose size is read from the header, before decoding
        raise InputError(f"{name}: not a JPEG, PNG, WebP, BMP or GIF image")
    if size[0] * size[1] > svc.api.max_image_pixels:
        raise HTTPException(413, f"{name}: image over api.max_image_pixels "
                            f"({svc.api.max_image_pixels} pixels)")
    return decode_image(data, name)


def _num(v: float, nd: int = 2) -> float | None:
    return None if not math.isfinite(v) else round(float(v), nd)


def face_rows(faces: Faces, matches: list[Any] | None) -> list[dict[str, Any]]:
    pose = keypoint_pose(faces.keypoints) if len(faces) else np.zeros((0, 3), np.float32)
    rows = []
    for i in range(len(faces)):
        row: dict[str, Any] = {
            "box": [round(float(v), 1) for v in faces.xyxy[i]],
            "score": round(float(faces.score[i]), 4),
            "keypoints": [[round(float(x), 1), round(float(y), 1)] for x, y in
                          faces.keypoints[i]],
            "pose": {"yaw": _num(pose[i, 0]), "pitch": _num(pose[i, 1]),
                     "roll": _num(pose[i, 2]), "source": "keypoints"},
        }
        if matches is not None:
            m = matches[i]
            row["identity"] = {"person_id": m.person_id if m.person_id >= 0 else None,
                               "name": m.name, "similarity": _num(m.similarity, 4)}
        rows.append(row)
    return rows


def _audit_search(svc: Services, who: Principal, action: str, found: list[Any]) -> None:
    names = sorted({m.name for m in found if getattr(m, "name", None)})
    svc.accounts.audit(who.actor, action, ",".join(names)[:500],
                       detail={"faces": len(found), "matched": names}, address=who.address)


@router.post("/detect")
def detect(image: Upload, svc: Svc, who: Operator,
           identify: Annotated[bool, Query(description="Also name enrolled people "
                                           "(audited).")] = False) -> dict[str, Any]:
    """Every face of the image: box, score, 5 keypoints, head pose from the keypoints and,
    with ``identify``, who it is."""
    pixels = read_upload(image, svc)
    with svc.faces.models():
        recognizer = svc.faces.recognizer(identify=identify)
        faces, matches = recognizer.predict(pixels) if identify else (
            recognizer.detect(pixels), None)
    if identify:
        _audit_search(svc, who, "face_search", matches or [])
    return {"width": int(pixels.shape[1]), "height": int(pixels.shape[0]),
            "faces": face_rows(faces, matches)}


@router.post("/recognize")
def recognize(image: Upload, svc: Svc, who: Operator) -> dict[str, Any]:
    """Who the faces of the image are (enrolled people above the threshold; else unknown).
    Audited."""
    pixels = read_upload(image, svc)
    if not svc.faces.exists:
        raise HTTPException(409, "no face database yet: enrol someone first")
    with svc.faces.models():
        faces, matches = svc.faces.recognizer(identify=True).predict(pixels)
    _audit_search(svc, who, "face_search", matches)
    return {"threshold": svc.faces.tracker.recognition.threshold,
            "faces": face_rows(faces, matches)}


@router.post("/verify")
def verify(image_a: Upload, image_b: Upload, svc: Svc, who: Operator) -> dict[str, Any]:
    """Whether the most prominent face of each image is the same person."""
    a, b = read_upload(image_a, svc), read_upload(image_b, svc)
    with svc.faces.models():
        result = svc.faces.recognizer(identify=False).verify(a, b)
    svc.accounts.audit(who.actor, "face_verify", "", detail={"same": result.same},
                       address=who.address)
    return {"similarity": round(result.similarity, 4), "same": result.same,
            "threshold": result.threshold}
