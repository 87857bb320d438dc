"""The pipeline's settings: what ``FaceTracker``, ``facetrack track`` and each camera's
``tracker:`` section can be told (docs/config.md is generated from this module).

Backends keep their config beside their code (``detector: {kind: yunet, ...}`` in
``facetrack.detection``, ``recognition.embedder: {kind: sface | onnx, ...}`` in
``facetrack.recognition.embedder``); this module gathers them into ``TrackerConfig``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from facetrack.config.analytics import AnalyticsConfig
from facetrack.config.base import Strict, load_yaml
from facetrack.config.privacy import Mode, PrivacyConfig
from facetrack.detection import DetectorConfig
from facetrack.recognition.embedder import EmbedderConfig, SFaceConfig
from facetrack.zones import Polygon

log = logging.getLogger(__name__)


class TrackingConfig(Strict):
    high_score: float = Field(
        0.5, ge=0.0, le=1.0, description="Detections at or above this score start tracks and are "
        "matched first; lower ones only extend existing tracks."
    )
    new_track_score: float = Field(
        0.6, ge=0.0, le=1.0, description="Lowest score that may start a new track."
    )
    match_iou: float = Field(
        0.2, ge=0.0, le=1.0,
        description="Minimum IoU between a track's predicted box and a detection for the first, "
        "high-score pass. Lower keeps fast faces; higher avoids swaps at crossings.",
    )
    low_match_iou: float = Field(
        0.4, ge=0.0, le=1.0, description="Minimum IoU for the low-score second pass."
    )
    credence_count: int = Field(
        3, ge=1, le=100,
        description="Consecutive matched frames before a track is confirmed; unconfirmed tracks "
        "emit nothing. Higher suppresses false positives, delays new faces.",
    )
    detect_interval: int = Field(
        1, ge=1, le=1000,
        description="Run the detector on every Nth frame; on the frames between, each face "
        "seen on the frame before is followed from its Face Mesh landmarks (MediaPipe's way). "
        "The detector still runs on any frame where a face cannot be followed (no trusted "
        "landmarks, faces overlapping), while a new face awaits confirmation, and after a "
        "scene cut; a face entering waits at most N-1 frames to be found. 1 = every frame. 5 "
        "saved 16% of the CPU of 4 live cameras, with blink figures unchanged but one more id "
        "switch on synth_tracks (docs/benchmarks.md, Speed). Needs analysis.landmarks; single "
        "images are always detected.",
    )
    lost_track_buffer: int = Field(
        50, ge=0, le=10_000,
        description="Frames a confirmed track is kept (coasting on its motion model) after its "
        "face disappears, so it can resume with the same id after an occlusion (50 = 2 s at "
        "25 fps). Longer bridges longer occlusions but risks joining a different person.",
    )
    appearance_weight: float = Field(
        1.0, ge=0.0, le=10.0,
        description="Weight of the colour-histogram dissimilarity in the IoU matching cost "
        "(0 = motion and size only; the recovery pass still compares colours, see "
        "recover_distance). Keeps crossing faces apart; never written out.",
    )
    recover_distance: float = Field(
        2.0, ge=0.0, le=20.0,
        description="A lost track may resume on a detection whose centre is within this many of "
        "its box heights of where it was predicted, if the two look alike (0 = no recovery "
        "pass).",
    )
    recover_similarity: float = Field(
        0.8, ge=0.0, le=1.0,
        description="Minimum colour-histogram similarity (Bhattacharyya, 0..1) to resume a "
        "lost track away from its predicted box.",
    )
    coast_damping: float = Field(
        0.9, gt=0.0, le=1.0,
        description="Per-frame decay of the velocity used to predict a face that is not seen "
        "(1 = constant velocity). Below 1, a long occlusion or a gap in the input predicts a "
        "bounded move (at most 1/(1-d) frames of motion) instead of running off.",
    )
    scene_cuts: bool = Field(
        True,
        description="End every track at a hard cut of edited video (colours and picture both "
        "change at once), so an id is never carried onto whoever appears in the next shot.",
    )
    max_coast_scale: float = Field(
        1.5, ge=1.0, le=10.0,
        description="How far (in box sizes) a lost track's search area may grow while coasting.",
    )


class AnalysisConfig(Strict):
    landmarks: bool = Field(
        True, description="Run Face Mesh on each tracked face (needed for every signal below)."
    )
    min_face_size: float = Field(
        24.0, ge=0.0, description="Faces shorter than this (pixels) are tracked but not analysed."
    )
    min_landmark_score: float = Field(
        0.5, ge=0.0, le=1.0,
        description="Face Mesh presence score below which a face's landmarks are not trusted "
        "and no signal is read (occluded, cut-off or falsely detected faces).",
    )
    pose_fallback: bool = Field(
        True,
        description="Give every face Face Mesh cannot read (profiles, small or blurred faces) a "
        "head pose from the detector's 5 keypoints (`pose_source: keypoints`, rougher: AFLW2000 "
        "MAE in docs/benchmarks.md), so a face turned away counts as not looking.",
    )
    face_rate_hz: float = Field(
        0.0, ge=0.0, le=100.0,
        description="Read each face (Face Mesh, eyes, pose) at most this often, in reads a second "
        "of video time; 0 = on every frame. Between reads the face is tracked but not analysed "
        "(`analysed` false, no pose), and the signals hold its last reading, as they do across "
        "frames a live camera drops. Saves model time with many faces (audience counting); "
        "blink figures held at about half the frame rate, not at a third (docs/benchmarks.md, "
        "'Reading faces at a rate'). Not with tracking.detect_interval.",
    )
    looking_cone_deg: float = Field(
        25.0, gt=0.0, le=90.0,
        description="A face is `looking` when the angle between its facing direction and the "
        "camera axis (from yaw and pitch) is within this cone.",
    )
    eye_model: Literal["iris", "mesh"] = Field(
        "iris",
        description="How the eyelids are read: `iris` (MediaPipe's iris model on each eye, two "
        "more model calls a face; measured on real blinks) or `mesh` (Face Mesh's own eye points, "
        "no extra cost, but they barely move when the eyes close).",
    )
    min_eye_confidence: float = Field(
        0.5, ge=0.0, le=1.0,
        description="An eye read with less confidence (too small, turned away, covered) is not "
        "used; with neither eye usable the face's eyes are `uncertain`, never `open`.",
    )
    eyes_closing_threshold: float = Field(
        0.5, gt=0.0, lt=1.0,
        description="A lid movement (a blink, or a longer closure) starts when the mean eye "
        "openness (1 = the person's open eye, 0 = their closed one) falls below this, and ends "
        "when it is back 0.1 above it.",
    )
    eyes_closed_threshold: float = Field(
        0.4, gt=0.0, lt=1.0,
        description="Eyes count as fully closed (PERCLOS, closures, microsleep) during a lid "
        "movement while the mean openness is below this.",
    )
    blink_max_s: float = Field(
        1.0, gt=0.0,
        description="A lid movement (from the lids starting to close until they are open again) "
        "up to this long is a blink; a longer one is a closure. ZJU Eyeblink's labelled blinks "
        "last 0.13-0.93 s.",
    )
    perclos_window_s: float = Field(
        60.0, gt=0.0,
        description="Window of the sliding PERCLOS (time-weighted share of the window with eyes "
        "closed, counted once analysed frames cover 80% of it): tracks.csv's "
        "`perclos_max_window` and the monitor's `drowsy` event both read it.",
    )
    yawn_threshold: float = Field(
        0.6, gt=0.0, le=1.0, description="mouth_open at or above this may be a yawn."
    )
    yawn_min_s: float = Field(
        1.5, gt=0.0, description="mouth_open must stay above the yawn threshold this long."
    )
    smoothing: float = Field(
        0.5, gt=0.0, le=1.0,
        description="Weight of the newest value in the per-track exponential smoothing of head "
        "pose and mouth openness (1 = no smoothing).",
    )

    @model_validator(mode="before")
    @classmethod
    def _removed_keys(cls, data: Any) -> Any:
        if isinstance(data, dict) and "open_ear_prior" in data:
            raise ValueError("analysis.open_ear_prior was removed: each person's open eye level "
                             "is now learnt from their own first frames (docs/schema.md)")
        return data

    @model_validator(mode="after")
    def _closed_within_closing(self) -> AnalysisConfig:
        if self.eyes_closed_threshold > self.eyes_closing_threshold:
            raise ValueError(
                f"eyes_closed_threshold ({self.eyes_closed_threshold}) must not be above "
                f"eyes_closing_threshold ({self.eyes_closing_threshold}): fully closed is a "
                "deeper part of a lid movement")
        return self


class RecognitionConfig(Strict):
    """Off unless enabled: with it off, facetrack computes no embedding and stores nothing
    biometric."""

    enabled: bool = Field(False, description="Compute embeddings and match them to a database.")
    database: str | None = Field(
        None, description="Face database: a SQLite file (`facetrack db ...` manages it) or a "
        "postgresql:// URL (the [postgres] extra) shared by several machines."
    )
    key_file: Path | None = Field(
        None, description="Key of a database with encrypted templates (`facetrack db keygen`, "
        "docs/privacy.md); default: $FACETRACK_DB_KEY_FILE or $FACETRACK_DB_KEY, else none.")
    embedder: EmbedderConfig = Field(
        default_factory=SFaceConfig,
        description="`{kind: sface}`: the packaged, sha256-checked SFace on OpenCV (`model_path`: "
        "your own SFace file). `{kind: onnx, model_path: FILE, mean, std, channels}`: any "
        "ArcFace-style ONNX model on onnxruntime. A database is bound to the model that made "
        "its vectors: re-enrol after switching.",
    )
    threshold: float = Field(
        0.333, ge=-1.0, le=1.0,
        description="Cosine similarity (higher = more alike) at or above which two faces are "
        "the same person. Default: the middle of the best-accuracy interval of SFace over "
        "lfw_pairs + deepface_pairs (docs/benchmarks.md). Raise it to trade missed "
        "recognitions for fewer false accepts.",
    )
    index: Literal["auto", "exact", "approximate"] = Field(
        "auto",
        description="How the face database is searched. `exact`: every embedding for each "
        "face (23 ms a face at 1M embeddings). `approximate`: a scan of 32-byte codes of every "
        "embedding shortlists 64, whose people are re-ranked exactly (2 ms at 1M, same answer "
        "as exact search on 400 of 400 queries; needs the [large-gallery] extra). `auto`: exact "
        "below 200,000 embeddings, else approximate when faiss is installed "
        "(docs/benchmarks.md, \"A gallery of a million\").",
    )
    min_face_size: float = Field(
        40.0, ge=0.0,
        description="Faces shorter than this (pixels) are tracked but not embedded.",
    )
    frontal_max_deg: float = Field(
        50.0, gt=0.0, le=180.0,
        description="Faces turned further than this from the camera (angle from yaw and pitch, "
        "when landmarks ran) are tracked but not embedded: profile views match poorly.",
    )
    min_sharpness: float = Field(
        0.1, ge=0.0, le=1.0,
        description="Faces blurrier than this (0..1, from the Laplacian of the face, when "
        "landmarks ran) are tracked but not embedded.",
    )
    zone: Polygon | None = Field(
        None,
        description="Polygon [[x, y], ...] in frame pixels: only faces whose box centre is "
        "inside are embedded (null = everywhere).",
    )
    reid_expiration_frames: int = Field(
        32, ge=1, le=100_000,
        description="Longest gap between two embeddings of a track: intervals grow 1, 2, 4, "
        "... up to this, and drop back to 1 when the best match changes or the face's quality "
        "jumps. 1 = embed every face every frame.",
    )

    @field_validator("database", mode="before")
    @classmethod
    def _path_as_text(cls, value: Any) -> Any:
        return os.fspath(value) if isinstance(value, os.PathLike) else value

    @model_validator(mode="before")
    @classmethod
    def _old_embedder_spelling(cls, data: Any) -> Any:
        """``embedder: onnx`` with ``model_path`` and ``onnx: {...}`` beside it was the
        first spelling; it is still read, and the new one is named."""
        if not isinstance(data, dict) or not isinstance(data.get("embedder", {}), str):
            return data
        data = dict(data)
        kind = data.pop("embedder")
        new: dict[str, Any] = {"kind": kind}
        if data.get("model_path") is not None:
            new["model_path"] = data.pop("model_path")
        data.pop("model_path", None)
        onnx = data.pop("onnx", None)
        if kind == "onnx" and isinstance(onnx, dict):
            new.update(onnx)
        data["embedder"] = new
        log.warning("recognition.embedder: %s is the old spelling; write recognition.embedder: "
                    "{kind: %s%s} (docs/config.md)", kind, kind,
                    ", model_path: ..." if "model_path" in new else "")
        return data

    @model_validator(mode="after")
    def _database_when_enabled(self) -> RecognitionConfig:
        if self.enabled and self.database is None:
            raise ValueError("recognition.enabled needs recognition.database (a face database "
                             "file made with `facetrack db enroll`)")
        return self


class RuntimeConfig(Strict):
    mode: Literal["auto", "file", "live"] = Field(
        "auto",
        description="`file`: every frame is processed, none dropped, results identical on "
        "every run (stages buffer `queue_size` frames). `live`: the latest frame is processed "
        "and stages hold one frame each, so results follow the camera. `auto`: `live` for "
        "streams and cameras, `file` for files and images.",
    )
    queue_size: int = Field(
        8, ge=1, le=1024, description="Frames buffered between pipeline stages."
    )
    analysis_threads: int | None = Field(
        None, ge=1, le=64,
        description="Threads reading the faces of one frame (Face Mesh and the eyes, each "
        "thread with its own models). null = one per core (at most 4) in file mode and 1 live, "
        "where the cameras already share the cores. Results are the same for every value.",
    )
    images_fps: float = Field(
        25.0, gt=0.0, description="Rate assumed for image folders (timestamps = index / fps)."
    )
    image_folder: Literal["sequence", "independent"] = Field(
        "sequence",
        description="How a folder of images is read: `sequence` = frames of one video (faces "
        "are tracked across images); `independent` = unrelated photos (every face of every "
        "image is reported with its own id, nothing links images). A single image is always "
        "independent.",
    )


class TrackerConfig(Strict):
    """Everything ``FaceTracker`` and ``facetrack track`` can be told."""

    detector: DetectorConfig = Field(default_factory=DetectorConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    analysis: AnalysisConfig = Field(default_factory=AnalysisConfig)
    recognition: RecognitionConfig = Field(default_factory=RecognitionConfig)
    analytics: AnalyticsConfig = Field(default_factory=AnalyticsConfig)
    runtime: RuntimeConfig = Field(default_factory=RuntimeConfig)
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig)

    @property
    def privacy_mode(self) -> Mode:
        """``privacy.mode``, or the one recognition implies."""
        if self.privacy.mode is not None:
            return self.privacy.mode
        return "identified" if self.recognition.enabled else "anonymous"

    @property
    def blur_faces(self) -> bool:
        """Whether every picture produced has its faces blurred."""
        if self.privacy.blur is not None:
            return self.privacy.blur
        return self.privacy_mode != "identified"

    @model_validator(mode="after")
    def _privacy_consistent(self) -> TrackerConfig:
        mode = self.privacy_mode
        if mode != "identified":
            if self.recognition.enabled:
                raise ValueError(f"recognition needs privacy.mode: identified ({mode} keeps "
                                 "no enrolled face)")
            if self.privacy.blur is False:
                raise ValueError(f"privacy.mode {mode} blurs every picture: privacy.blur "
                                 "cannot be false (or set privacy.mode: identified)")
        return self

    @model_validator(mode="after")
    def _scores_ordered(self) -> TrackerConfig:
        if self.detector.score_threshold > self.tracking.high_score:
            raise ValueError(
                "detector.score_threshold must not exceed tracking.high_score "
                f"({self.detector.score_threshold} > {self.tracking.high_score})"
            )
        if self.analysis.face_rate_hz and self.tracking.detect_interval > 1:
            raise ValueError(
                "tracking.detect_interval follows faces from the landmarks of the frame before, "
                "which analysis.face_rate_hz leaves unread between reads: set one of them")
        return self

    @classmethod
    def from_yaml(cls, path: str | Path) -> TrackerConfig:
        """Load a YAML file; every problem becomes a one-line ``ConfigError`` naming the file."""
        return load_yaml(cls, path)
