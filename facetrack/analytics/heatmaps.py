"""Heatmaps: where faces stood (occupancy, over the scene) and where attention landed on each
target (polygon targets over the scene; camera and rectangle targets on a plan of the camera's
plane in metres).

Occupancy adds each face's frame time at its box centre, in cells of
``analytics.heatmap_cell_px``. Attention adds a frame's time at the point where the ray of a
face in a look crossed the target's plane. The scene behind them is the per-pixel median of at
most ``SAMPLES`` frames taken evenly across the input, with every face box seen in those frames
blurred away: no face is ever drawn.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from facetrack.config.analytics import AnalyticsConfig, TargetConfig
from facetrack.privacy.conceal import conceal, hidden_boxes
from facetrack.results import FrameResult
from facetrack.tracks import TargetLooks

SAMPLES = 15
#: background frames are kept at most this wide
SAMPLE_WIDTH = 640
#: heatmaps are drawn at most this wide (they show where, not detail)
OUT_WIDTH = 960
#: the plan of a camera/rect target: this many pixels per metre, this much room around it
PLAN_PX_PER_M, PLAN_MARGIN_M = 200, 0.5

Image = npt.NDArray[np.uint8]


class Heatmaps:
    def __init__(self, config: AnalyticsConfig, width: int, height: int, period_s: float,
                 frame_count: int | None) -> None:
        self.config, self.width, self.height = config, width, height
        self.period_s = period_s if period_s > 0 else 0.04
        cell = config.heatmap_cell_px
        self.occupancy = np.zeros((max(1, -(-height // cell)), max(1, -(-width // cell))))
        self.hits: dict[str, list[tuple[float, float]]] = {t.name: [] for t in config.targets}
        #: (track, target) -> the points of a look not yet long enough to count
        self._pending: dict[tuple[int, str], list[tuple[float, tuple[float, float]]]] = {}
        self.step = max(1, frame_count // SAMPLES) if frame_count else 30
        self.samples: list[Image] = []
        self.scale = min(1.0, SAMPLE_WIDTH / max(width, 1))
        self.out_scale = min(1.0, OUT_WIDTH / max(width, 1))
        self.out_size = (max(1, round(width * self.out_scale)),
                         max(1, round(height * self.out_scale)))
        self._seen = 0

    def consume(self, result: FrameResult) -> None:
        faces, cell = result.faces, self.config.heatmap_cell_px
        if len(faces):
            centres = (faces.xyxy[:, :2] + faces.xyxy[:, 2:]) / 2
            cols = np.clip((centres[:, 0] // cell).astype(int), 0, self.occupancy.shape[1] - 1)
            rows = np.clip((centres[:, 1] // cell).astype(int), 0, self.occupancy.shape[0] - 1)
            np.add.at(self.occupancy, (rows, cols), self.period_s)
        t = result.frame.timestamp
        for track in result.tracks:
            a = track.audience
            if a is None:
                continue
            for name, looks in a.targets.items():
                if name in self.hits:
                    self._land(track.track_id, name, looks, t, track.state == "active")
        self._sample(result)

    def _land(self, tid: int, name: str, looks: TargetLooks, t: float, seen: bool) -> None:
        """Only looks that count as attention (``min_glance_s`` and longer) are drawn: a
        point waits until its look is counted, and goes when the look ended too short."""
        pending = self._pending.setdefault((tid, name), [])
        if seen and looks.looking_now and looks.hit is not None:
            pending.append((t, looks.hit))
        counted = looks.looks[-1] if looks.looks else None
        if counted is not None:
            keep = [(when, p) for when, p in pending if not counted[0] <= when <= counted[1]]
            self.hits[name] += [p for when, p in pending if counted[0] <= when <= counted[1]]
            pending[:] = keep
        if not looks.looking_now and seen:
            pending.clear()  # the look ended without reaching the minimum

    def _sample(self, result: FrameResult) -> None:
        self._seen += 1
        if (self._seen - 1) % self.step:
            return
        image: Image = np.array(result.frame.image if self.scale >= 1.0 else cv2.resize(
            result.frame.image, None, fx=self.scale, fy=self.scale,
            interpolation=cv2.INTER_AREA), np.uint8)
        # every face hidden as in every other picture (the tracker's boxes: unconfirmed and
        # missed faces too), pixelated with half the box's size around it (the whole head)
        conceal(image, hidden_boxes(result) * self.scale, "pixelate", margin=0.5)
        self.samples.append(image)
        if len(self.samples) > 2 * SAMPLES:  # no frame count: thin out, take half as often
            self.samples = self.samples[::2]
            self.step *= 2

    def background(self) -> Image:
        if not self.samples:
            return np.full((self.out_size[1], self.out_size[0], 3), 40, np.uint8)
        median = np.median(np.stack(self.samples), axis=0).astype(np.uint8)
        return np.asarray(cv2.resize(median, self.out_size, interpolation=cv2.INTER_LINEAR),
                          np.uint8)

    def snapshot(self) -> Heatmaps:
        """A copy to draw from while this one goes on counting (the sampled frames are never
        changed once taken, so they are shared)."""
        snap = copy.copy(self)
        snap.occupancy = self.occupancy.copy()
        snap.samples = list(self.samples)
        snap.hits = {k: list(v) for k, v in self.hits.items()}
        snap._pending = {}
        return snap

    def render(self) -> dict[str, Image]:
        """Every heatmap by file name (``heatmap_occupancy.png``, ``heatmap_TARGET.png``)."""
        scene = self.background()
        smooth = cv2.GaussianBlur(self.occupancy, (0, 0), 1.0)  # one cell: a face's spread
        grid = np.asarray(cv2.resize(smooth, self.out_size, interpolation=cv2.INTER_LINEAR),
                          np.float64)
        images = {"heatmap_occupancy.png": _overlay(scene, grid)}
        for target in self.config.targets:
            images[f"heatmap_{target.name}.png"] = self._target_map(target, scene)
        return images

    def save(self, out: Path) -> list[Path]:
        """Write every heatmap into ``out``; the paths written."""
        written = []
        for name, image in self.render().items():
            ok, data = cv2.imencode(".png", image)
            if ok:
                from facetrack.sinks.files import open_output

                with os.fdopen(open_output(out / name), "wb") as fh:
                    fh.write(data.tobytes())
                written.append(out / name)
        return written

    def _target_map(self, target: TargetConfig, scene: Image) -> Image:
        hits = np.asarray(self.hits[target.name], np.float64).reshape(-1, 2)
        if target.kind == "polygon":
            w, h = self.out_size
            grid = np.zeros((h, w))
            for u, v in hits * self.out_scale:
                if 0 <= u < w and 0 <= v < h:
                    grid[int(v), int(u)] += self.period_s
            grid = np.asarray(cv2.GaussianBlur(grid, (0, 0), max(2.0, w / 100)), np.float64)
            image = _overlay(scene, grid)
            pts = (np.asarray(target.polygon) * self.out_scale).astype(np.int32).reshape(-1, 1, 2)
            cv2.polylines(image, [pts], True, (255, 255, 255), 2)
            return image
        return _plan(target, hits, self.period_s)


def _plan(target: TargetConfig, hits: npt.NDArray[np.float64], period_s: float) -> Image:
    """The camera's plane seen from the audience: the lens, the target, where looks landed."""
    if target.rect is not None:
        r = target.rect
        x0, x1 = r.x_m - r.width_m / 2 - PLAN_MARGIN_M, r.x_m + r.width_m / 2 + PLAN_MARGIN_M
        y0, y1 = r.y_m - r.height_m / 2 - PLAN_MARGIN_M, r.y_m + r.height_m / 2 + PLAN_MARGIN_M
        x0, x1, y0, y1 = min(x0, -0.2), max(x1, 0.2), min(y0, -0.2), max(y1, 0.2)
    else:
        x0, x1, y0, y1 = -1.0, 1.0, -0.75, 0.75
    w, h = int((x1 - x0) * PLAN_PX_PER_M), int((y1 - y0) * PLAN_PX_PER_M)

    def px(x: float, y: float) -> tuple[int, int]:
        # seen from the audience the image's right is on the plan's left
        return int((x1 - x) * PLAN_PX_PER_M), int((y1 - y) * PLAN_PX_PER_M)

    grid = np.zeros((h, w))
    for x, y in hits:
        u, v = px(float(x), float(y))
        if 0 <= u < w and 0 <= v < h:
            grid[v, u] += period_s
    grid = np.asarray(cv2.GaussianBlur(grid, (0, 0), PLAN_PX_PER_M * 0.05), np.float64)
    image = _overlay(np.full((h, w, 3), 235, np.uint8), grid)
    if target.rect is not None:
        r = target.rect
        cv2.rectangle(image, px(r.x_m + r.width_m / 2, r.y_m + r.height_m / 2),
                      px(r.x_m - r.width_m / 2, r.y_m - r.height_m / 2), (60, 60, 60), 2)
    cv2.circle(image, px(0.0, 0.0), 6, (0, 0, 0), -1)  # the lens
    cv2.putText(image, "camera", (px(0.0, 0.0)[0] + 8, px(0.0, 0.0)[1] - 8),
                cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return image


def _overlay(scene: Image, grid: npt.NDArray[np.float64]) -> Image:
    """``grid`` (seconds per cell) as a colour map over ``scene``; empty cells leave it be."""
    image = scene.copy()
    top = float(grid.max()) if grid.size else 0.0
    if top <= 0:
        return image
    norm = np.clip(grid / top * 255, 0, 255).astype(np.uint8)
    colour = cv2.applyColorMap(norm, cv2.COLORMAP_JET)
    alpha = (np.clip(grid / top, 0, 1) ** 0.5 * 0.65)[..., None]
    alpha[grid <= 0] = 0
    return np.asarray(image * (1 - alpha) + colour * alpha, np.uint8)
