"""Real faces turned through scripted yaw/pitch schedules: the clips of
``benchmarks.attention_time`` (the scripts, ``Actor``, and the renderer).

A near-frontal photo with an annotated head pose (AFLW2000-3D) is read once: YuNet finds the face
and Face Mesh gives its 468 points with depth (Face Mesh's depth is in the same scale as x and
y). The points are turned back to frontal by the inverse of the photo's *annotated* pose (not
facetrack's estimate), so a rendered face's true pose is exactly the pose it is rendered at, up
to the annotation's own error (AFLW2000-3D's 3DMM fit). Three rings of points around the face
oval, each wider and set further back (a rough skull), carry the hair, ears and neck along.

Rendering one pose: the points are rotated with ``facetrack.analysis.headpose.rotation_matrix``
(AFLW2000's convention: yaw > 0 turns the face to the image's left, pitch > 0 raises the chin)
about a pivot behind the face, projected orthographically, and every triangle of a Delaunay
triangulation of the photo's points is painted far to near (painter's order by mean depth),
triangles turned away from the viewer culled. Each pixel takes the texture of the photo through
its triangle's affine map (all triangles at once: an id raster, then one ``cv2.remap``), and the
head is blended onto the background with a soft edge. Limits: no perspective, no lighting change,
the ears and hair stretch at large angles, and the eyes are painted on the surface (no cornea).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from scipy.spatial import Delaunay

from facetrack.analysis.headpose import rotation_matrix
from facetrack.analysis.landmarks import FaceMeshLandmarker
from facetrack.config import DetectorConfig
from facetrack.detection.yunet import YuNetDetector
from facetrack.frames import Frame
from facetrack.sources.images import read_image

#: Face Mesh's face oval (MediaPipe FACEMESH_FACE_OVAL), in order around the face
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378,
             400, 377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54,
             103, 67, 109)
#: the rings around the oval: how much wider than the oval (from its centre), and how far
#: behind its points (in half face widths)
RING_SCALE = (1.12, 1.3, 1.5)
RING_DEPTH = (0.4, 0.8, 1.25)
#: the head turns about a point this many half face widths behind the face's centroid
PIVOT_DEPTH = 0.8
#: the canonical frame (X right, Y up, Z towards the camera) from image pixels (y down,
#: z farther), and back: the same flips
FLIP = np.array([1.0, -1.0, -1.0])
#: YuNet boxes this many rendered pixels tall at yaw 0
FACE_PX = 180.0
#: the clips: 1280x720, three places side by side (where each head's pivot is drawn)
SIZE = (1280, 720)
SLOTS = ((213.0, 380.0), (640.0, 380.0), (1067.0, 380.0))


@dataclass(frozen=True)
class Head:
    """One photo ready to render: its texture, 3-D points (frontal, canonical frame, rendered
    pixels, centred on the mesh's centroid), their texture coordinates and the triangles."""

    name: str
    texture: np.ndarray
    points: np.ndarray  # (n,3); the first 468 are the Face Mesh points
    uv: np.ndarray  # (n,2) texture pixels
    triangles: np.ndarray  # (m,3)
    pivot: np.ndarray  # (3,)
    background: tuple[int, int, int]


def _source_face(image: np.ndarray, detector: YuNetDetector,
                 landmarker: FaceMeshLandmarker) -> tuple[np.ndarray, float]:
    """The largest face's 468 mesh points (image pixels, z farther) and its box height."""
    faces = detector.detect(Frame(image, "render", 0, 0.0))
    if len(faces) == 0:
        raise ValueError("no face found in the source photo")
    i = int(np.argmax(faces.wh[:, 1]))
    points, _ = landmarker.landmarks(image, faces.keypoints[i:i + 1], faces.xyxy[i:i + 1])
    return points[0].astype(np.float64), float(faces.wh[i, 1])


def _rings(front: np.ndarray) -> np.ndarray:
    """Points around the face oval (see RING_SCALE, RING_DEPTH), frontal canonical frame."""
    oval = front[list(FACE_OVAL)]
    centre = oval[:, :2].mean(axis=0)
    half_width = (oval[:, 0].max() - oval[:, 0].min()) / 2
    rings = []
    for scale, depth in zip(RING_SCALE, RING_DEPTH, strict=True):
        ring = oval.copy()
        ring[:, :2] = centre + (oval[:, :2] - centre) * scale
        ring[:, 2] = oval[:, 2] - depth * half_width
        rings.append(ring)
    return np.concatenate(rings)


def load_head(path: Path, pose: tuple[float, float, float], detector: YuNetDetector,
              landmarker: FaceMeshLandmarker, face_px: float = FACE_PX) -> Head:
    """Read the photo at ``path`` whose annotated head pose is ``pose`` (yaw, pitch, roll,
    degrees) and make it renderable with faces about ``face_px`` tall."""
    image = read_image(path)
    mesh, box_h = _source_face(image, detector, landmarker)
    k = face_px / box_h
    texture = cv2.resize(image, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
    observed = mesh * k * FLIP
    centroid = observed.mean(axis=0)
    turn = rotation_matrix(*pose)  # frontal -> as photographed
    front = (observed - centroid) @ turn  # each row: turn.T @ (o - centroid)
    points = np.concatenate([front, _rings(front)])
    seen = points @ turn.T + centroid
    uv = np.clip(seen[:, :2] * FLIP[:2], 0, [texture.shape[1] - 1, texture.shape[0] - 1])
    half_width = np.ptp(front[list(FACE_OVAL), 0]) / 2
    border = np.concatenate([texture[0], texture[-1], texture[:, 0], texture[:, -1]])
    b, g, r = (int(v) for v in np.median(border, axis=0))
    return Head(path.stem, texture, points, uv, Delaunay(uv).simplices.astype(np.int64),
                np.array([0.0, 0.0, -PIVOT_DEPTH * half_width]), (b, g, r))


def _signed_area(p: np.ndarray, tri: np.ndarray) -> np.ndarray:
    a, b, c = p[tri[:, 0]], p[tri[:, 1]], p[tri[:, 2]]
    return (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])


def project(head: Head, yaw: float, pitch: float, centre: tuple[float, float]
            ) -> tuple[np.ndarray, np.ndarray]:
    """Image pixels (n,2) of the head's points at this pose with its pivot's projection at
    ``centre``, and their depth (n,) towards the camera."""
    rotated = (head.points - head.pivot) @ rotation_matrix(yaw, pitch, 0.0).T
    xy = rotated[:, :2] * FLIP[:2] + np.asarray(centre)
    return xy, rotated[:, 2]


def render(canvas: np.ndarray, head: Head, yaw: float, pitch: float,
           centre: tuple[float, float]) -> tuple[float, float, float, float]:
    """Paint ``head`` at (yaw, pitch) into ``canvas`` (BGR, in place), its pivot projected at
    ``centre``. Returns the box (x1, y1, x2, y2) of its Face Mesh points in the image."""
    xy, depth = project(head, yaw, pitch, centre)
    tri = head.triangles
    facing = _signed_area(xy, tri) * _signed_area(head.uv, tri) > 1e-6
    tri = tri[facing]
    tri = tri[np.argsort(depth[tri].mean(axis=1), kind="stable")]  # far first
    h, w = canvas.shape[:2]
    x0, y0 = (max(int(np.floor(v)) - 2, 0) for v in xy.min(axis=0))
    x1 = min(int(np.ceil(xy[:, 0].max())) + 3, w)
    y1 = min(int(np.ceil(xy[:, 1].max())) + 3, h)
    if x1 <= x0 or y1 <= y0:
        return _mesh_box(xy)
    ids = np.full((y1 - y0, x1 - x0), -1, np.int32)
    local = np.round((xy - [x0, y0]) * 16).astype(np.int32)  # 4 fractional bits
    for k, t in enumerate(tri):
        cv2.fillConvexPoly(ids, local[t], k, lineType=cv2.LINE_8, shift=4)
    # each triangle's affine map from image pixels to texture pixels: [x, y, 1] @ maps[k]
    corners = np.concatenate([xy[tri], np.ones((len(tri), 3, 1))], axis=2)
    maps = np.linalg.solve(corners, head.uv[tri])
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float64)
    m = maps[np.maximum(ids, 0)]
    u = (xs * m[..., 0, 0] + ys * m[..., 1, 0] + m[..., 2, 0]).astype(np.float32)
    v = (xs * m[..., 0, 1] + ys * m[..., 1, 1] + m[..., 2, 1]).astype(np.float32)
    painted = cv2.remap(head.texture, u, v, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    inside = (ids >= 0).astype(np.float32)
    alpha = (cv2.GaussianBlur(inside, (5, 5), 0) * inside)[..., None]
    region = canvas[y0:y1, x0:x1].astype(np.float32)
    canvas[y0:y1, x0:x1] = np.round(alpha * painted + (1 - alpha) * region).astype(np.uint8)
    return _mesh_box(xy)


def _mesh_box(xy: np.ndarray) -> tuple[float, float, float, float]:
    mesh = xy[:468]
    return (float(mesh[:, 0].min()), float(mesh[:, 1].min()), float(mesh[:, 0].max()),
            float(mesh[:, 1].max()))


def new_models() -> tuple[YuNetDetector, FaceMeshLandmarker]:
    """The detector and Face Mesh the renderer reads source photos with."""
    return YuNetDetector(DetectorConfig()), FaceMeshLandmarker()


@dataclass(frozen=True)
class Actor:
    """One scripted face: a photo (an AFLW2000-3D image stem), the place it stands in, the time
    it is in view (``start`` <= t < ``end``) and its pose keys ``(t, yaw, pitch)``, the pose
    linear in between and held beyond the first and last key."""

    source: str
    slot: int
    start: float
    end: float
    keys: tuple[tuple[float, float, float], ...]

    def pose(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Yaw and pitch (degrees) at times ``t``."""
        k = np.asarray(self.keys, np.float64)
        return np.interp(t, k[:, 0], k[:, 1]), np.interp(t, k[:, 0], k[:, 2])

    def visible(self, t: np.ndarray) -> np.ndarray:
        return (np.asarray(t) >= self.start - 1e-9) & (np.asarray(t) < self.end - 1e-9)


#: near-frontal photos on plain light backgrounds (annotated |yaw|, |pitch| <= 8 deg)
SOURCES = ("image00039", "image00051", "image00062", "image00055", "image00049", "image00050")


def script() -> list[Actor]:
    """The hand-made 24 s clip (cases: ``benchmarks.attention_time``). Turns run at 250 deg/s
    at most (quick real head turns), slow ones at 15-20 deg/s."""
    a0 = ((0, 0, 0), (3, 0, 0), (3.25, 60, 0), (5.0, 60, 0),
          (5.24, 0, 0), (5.48, 60, 0),  # in the cone ~0.2 s: no glance
          (7.0, 60, 0), (7.24, 0, 0), (7.44, 0, 0), (7.68, 60, 0),  # ~0.45 s: a glance
          (9.0, 60, 0), (12.0, 0, 0), (14.0, 0, 0),  # a slow turn in (20 deg/s)
          (14.25, 0, -45), (16.5, 0, -45), (16.75, 0, 0), (18.0, 0, 0),  # looking down
          (21.0, 45, 0), (22.0, 45, 0), (22.2, 15, -12), (23.0, 15, -12), (23.2, 45, 0))
    a1 = ((0, 45, 5), (3, 60, -10), (6, 40, 10), (8, 50, 0), (10, 50, 0),
          (10.4, -50, 0),  # a sweep across the camera: ~0.2 s in the cone
          (13, -60, -5), (16, -38, 12), (18, -45, -20), (20, -35, -20), (22, 0, -40),
          (24, 0, -40))
    a2 = ((2, 0, 0), (5, 0, 0), (5.25, -50, 0), (7, -50, 0), (7.25, -5, 5))
    a3 = ((13, -40, 20), (15, -40, 20), (15.2, -10, 10), (17, -10, 10),
          (18, -26.5, 0), (18.6, -26.5, 0),  # inside the hysteresis band: the look goes on
          (18.8, -45, 0), (20, 0, 35))
    return [Actor("image00039", 0, 0, 24, a0), Actor("image00051", 1, 0, 24, a1),
            Actor("image00062", 2, 2, 10, a2), Actor("image00055", 2, 13, 22, a3)]


def short_script() -> list[Actor]:
    """8 s for the golden test: a look, a dropped and a kept glance, a face that never looks
    (with a sweep across the camera), a face entering and leaving."""
    a0 = ((0, 0, 0), (2, 0, 0), (2.25, 55, 0), (3.5, 55, 0), (3.72, 0, 0), (3.94, 55, 0),
          (5.0, 55, 0), (5.22, 0, 0), (5.5, 0, 0), (5.72, 55, 0), (6.5, 55, 0), (7.0, 0, 0))
    a1 = ((0, 45, 5), (3, 60, -10), (4, 50, 0), (4.4, -50, 0), (8, -40, 15))
    a2 = ((1.5, 0, 0), (3.5, -10, 5), (4.0, -50, 0))
    return [Actor("image00039", 0, 0, 8, a0), Actor("image00051", 1, 0, 8, a1),
            Actor("image00062", 2, 1.5, 6, a2)]


def random_script(rng: np.random.Generator, seconds: float) -> list[Actor]:
    """Three faces, each for the whole clip or entering/leaving, drawing looks (1-4 s near
    frontal), turns away (35-70 deg) and glances (held 0-0.5 s) at random; turns run at
    60-250 deg/s."""
    actors = []
    sources = rng.permutation(SOURCES)
    for slot in range(3):
        start = 0.0 if rng.random() < 0.6 else float(np.round(rng.uniform(0, seconds / 3), 2))
        end = seconds if rng.random() < 0.6 else float(
            np.round(rng.uniform(start + seconds / 3, seconds), 2))
        pose = _away(rng)
        keys, t = [(start, *pose)], start
        while t < end:
            kind = rng.choice(["look", "away", "glance"], p=[0.3, 0.35, 0.35])
            target = _near(rng) if kind != "away" else _away(rng)
            t += _turn_s(rng, pose, target)
            hold = float(rng.uniform(0.0, 0.5) if kind == "glance" else rng.uniform(1.0, 4.0))
            keys += [(t, *target), (t + hold, *target)]
            t, pose = t + hold, target
            if kind == "glance":
                pose = _away(rng)
                t += _turn_s(rng, target, pose)
                keys.append((t, *pose))
        actors.append(Actor(str(sources[slot]), slot, start, end,
                            tuple((round(a, 3), round(b, 1), round(c, 1)) for a, b, c in keys)))
    return actors


def _turn_s(rng: np.random.Generator, a: tuple[float, float], b: tuple[float, float]) -> float:
    """Seconds to turn from pose a to pose b at a random speed of 60-250 deg/s."""
    return max(0.08, float(np.hypot(a[0] - b[0], a[1] - b[1])) / float(rng.uniform(60, 250)))


def _near(rng: np.random.Generator) -> tuple[float, float]:
    return float(rng.uniform(-15, 15)), float(rng.uniform(-12, 12))


def _away(rng: np.random.Generator) -> tuple[float, float]:
    if rng.random() < 0.25:  # mostly pitch: looking down or up
        return float(rng.uniform(-15, 15)), float(rng.choice([-1, 1]) * rng.uniform(38, 50))
    return float(rng.choice([-1, 1]) * rng.uniform(35, 70)), float(rng.uniform(-20, 20))


def write_clip(path: Path, actors: Sequence[Actor], heads: dict[str, Head], seconds: float,
               fps: int) -> np.ndarray:
    """Render ``actors`` for ``seconds`` at ``fps`` into an H.264 file at ``path``. Returns
    each actor's Face Mesh box per frame, ``(actors, frames, 4)``, NaN where out of view."""
    n = round(seconds * fps)
    times = np.arange(n) / fps
    poses = [a.pose(times) for a in actors]
    shown = [a.visible(times) for a in actors]
    boxes = np.full((len(actors), n, 4), np.nan)
    colour = np.mean([heads[a.source].background for a in actors], axis=0).astype(np.uint8)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height = SIZE
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "18", "preset": "veryfast"}
        for i in range(n):
            canvas = np.empty((SIZE[1], SIZE[0], 3), np.uint8)
            canvas[:] = colour
            for k, actor in enumerate(actors):
                if shown[k][i]:
                    boxes[k, i] = render(canvas, heads[actor.source], float(poses[k][0][i]),
                                         float(poses[k][1][i]), SLOTS[actor.slot])
            frame = av.VideoFrame.from_ndarray(canvas, format="bgr24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return boxes
