"""Strict, documented configuration (pydantic), loadable from YAML.

Every field has a description and bounds; unknown keys are errors that name the key and the file.
``facetrack track --config FILE`` and ``TrackerConfig.from_yaml`` read the same format; the
documented defaults are in docs/config.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from facetrack.errors import ConfigError

_M = TypeVar("_M", bound=BaseModel)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DetectorConfig(_Strict):
    kind: Literal["yunet"] = Field("yunet", description="Detector backend.")
    model_path: Path | None = Field(
        None,
        description="Your own YuNet-compatible ONNX file instead of the packaged, sha256-checked "
        "default.",
    )
    input_long_side: int | None = Field(
        640,
        ge=160,
        le=4096,
        description="Resize each frame (down or up) so its long side has this many pixels "
        "before detection (null = native size). 640 keeps 720p and 1080p real-time, finds "
        "faces down to ~20 px tall at this scale and the very large faces YuNet misses at "
        "native resolution; small inputs are upscaled, which costs time (320x240: ~2x).",
    )
    score_threshold: float = Field(
        0.1,
        ge=0.0,
        le=1.0,
        description="Lowest detector score kept. Faces between this and "
        "tracking.high_score are only used to continue existing tracks (second pass).",
    )
    nms_threshold: float = Field(0.3, ge=0.0, le=1.0, description="Detector NMS IoU.")
    min_face_size: float = Field(
        12.0, ge=0.0, description="Drop faces whose box is shorter than this (original pixels)."
    )
    threads: int = Field(
        1, ge=1, le=64,
        description="OpenCV threads (process-wide in OpenCV). 1 leaves the other core to "
        "decoding and Face Mesh, which run on their own pipeline threads.",
    )


class TrackingConfig(_Strict):
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


class AnalysisConfig(_Strict):
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
    looking_cone_deg: float = Field(
        25.0, gt=0.0, le=90.0,
        description="A face is `looking` when the angle between its facing direction and the "
        "camera axis (from yaw and pitch) is within this cone.",
    )
    eyes_closed_threshold: float = Field(
        0.5, gt=0.0, lt=1.0,
        description="Eyes count as closed when the mean normalised openness is below this.",
    )
    open_ear_prior: float = Field(
        0.28, gt=0.0, lt=1.0,
        description="Eye aspect ratio of an open eye assumed until a track has its own history.",
    )
    blink_max_s: float = Field(
        0.5, gt=0.0, description="A closed spell up to this long is a blink; longer is a closure."
    )
    perclos_window_s: float = Field(
        60.0, gt=0.0, description="Window of the sliding PERCLOS (share of time eyes closed)."
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


class OnnxEmbedderConfig(_Strict):
    """How an aligned face crop becomes the ONNX model's input: ``(pixel - mean) / std`` in the
    given channel order; size and layout (NCHW or NHWC) are read from the model. Defaults are
    InsightFace's ArcFace convention; SFace (which normalises inside) wants mean 0, std 1."""

    mean: float = Field(127.5, description="Subtracted from every 0..255 pixel value.")
    std: float = Field(127.5, gt=0.0, description="Divides the pixel value after the mean.")
    channels: Literal["rgb", "bgr"] = Field("rgb", description="Channel order the model expects.")


class RecognitionConfig(_Strict):
    """Off unless enabled: with it off, facetrack computes no embedding and stores nothing
    biometric."""

    enabled: bool = Field(False, description="Compute embeddings and match them to a database.")
    database: Path | None = Field(
        None, description="SQLite face database file (`facetrack db ...` manages it)."
    )
    embedder: Literal["sface", "onnx"] = Field(
        "sface",
        description="`sface`: the packaged, sha256-checked SFace on OpenCV (or your own SFace "
        "file in `model_path`). `onnx`: any ArcFace-style ONNX model (112x112 aligned face in, "
        "one embedding out) on onnxruntime, from `model_path`, preprocessed as `onnx` says "
        "(needs `pip install 'facetrack[onnx]'`). A database is bound to the model that made "
        "its vectors: re-enrol after switching.",
    )
    model_path: Path | None = Field(
        None,
        description="Embedding model file: your own SFace file (`embedder: sface`, default: "
        "the packaged one) or the ONNX model (`embedder: onnx`, required).",
    )
    onnx: OnnxEmbedderConfig = Field(
        OnnxEmbedderConfig(),
        description="Preprocessing for `embedder: onnx` (ignored for SFace).",
    )
    threshold: float = Field(
        0.333, ge=-1.0, le=1.0,
        description="Cosine similarity (higher = more alike) at or above which two faces are "
        "the same person. Default: the middle of the best-accuracy interval of SFace over "
        "lfw_pairs + deepface_pairs (docs/benchmarks.md). Raise it to trade missed "
        "recognitions for fewer false accepts.",
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
    zone: list[tuple[float, float]] | None = Field(
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

    @model_validator(mode="after")
    def _zone_is_a_polygon(self) -> RecognitionConfig:
        if self.zone is not None and len(self.zone) < 3:
            raise ValueError(f"recognition.zone needs at least 3 points, got {len(self.zone)}")
        if self.embedder == "onnx" and self.model_path is None:
            raise ValueError("recognition.embedder: onnx needs recognition.model_path (the "
                             "ONNX model file)")
        if self.enabled and self.database is None:
            raise ValueError("recognition.enabled needs recognition.database (a face database "
                             "file made with `facetrack db enroll`)")
        return self


class RuntimeConfig(_Strict):
    queue_size: int = Field(
        8, ge=1, le=1024, description="Frames buffered between pipeline stages."
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


class EventsConfig(_Strict):
    end_after_s: float = Field(
        2.0, gt=0.0, description="A track unseen this long has ended (`track_ended`)."
    )
    eyes_closed_s: float = Field(
        1.0, gt=0.0, description="Eyes closed this long gives `eyes_closed` (once a spell)."
    )
    drowsy_perclos: float = Field(
        0.3, gt=0.0, le=1.0,
        description="PERCLOS (share of the window with eyes closed) that gives `drowsy`.",
    )
    drowsy_window_s: float = Field(
        30.0, gt=0.0, description="Window PERCLOS is measured over (must be 80% covered)."
    )
    distracted_s: float = Field(
        5.0, gt=0.0, description="Not looking at the camera this long gives `distracted`."
    )
    dwell_s: float = Field(
        10.0, gt=0.0, description="Inside a zone this long gives `dwell` (once a visit)."
    )


AlertMode = Literal["NONE", "ON_UNKNOWNS", "ON_KNOWNS", "ON_ALL"]
RuleEvent = Literal["eyes_closed", "drowsy", "distracted", "dwell", "track_started"]


class AlertsConfig(_Strict):
    mode: AlertMode = Field(
        "NONE",
        description="Identity alerts: ON_UNKNOWNS (a confirmed unknown face), ON_KNOWNS (an "
        "enrolled person), ON_ALL (both), NONE. Needs recognition on, except NONE.",
    )
    on: list[RuleEvent] = Field(
        default_factory=list, description="Analysis events that also raise an alert."
    )
    holdoff_s: float = Field(
        60.0, ge=0.0,
        description="At most one alert per person and reason in this many seconds (a person "
        "is an enrolled id, an unknown face matched by appearance, or else a track).",
    )


class ClipsConfig(_Strict):
    """Evidence clips of one camera: saved around each alert."""

    enabled: bool = Field(False, description="Record a clip around every alert.")
    pre_s: float = Field(5.0, ge=0.0, le=120.0, description="Seconds kept before the alert.")
    post_s: float = Field(5.0, ge=0.0, le=600.0, description="Seconds recorded after it; "
                          "an alert inside an open clip extends it.")
    max_s: float = Field(120.0, gt=0.0, description="Longest clip; a longer run of alerts "
                         "starts a new clip.")
    annotated: bool = Field(True, description="Draw boxes, ids and signals (else raw frames).")
    jpeg_quality: int = Field(85, ge=30, le=100, description="Quality of the frames held in "
                              "the ring buffer (JPEG keeps memory bounded).")


class TrackerConfig(_Strict):
    """Everything ``FaceTracker`` and ``facetrack track`` can be told."""

    detector: DetectorConfig = DetectorConfig()
    tracking: TrackingConfig = TrackingConfig()
    analysis: AnalysisConfig = AnalysisConfig()
    recognition: RecognitionConfig = RecognitionConfig()
    runtime: RuntimeConfig = RuntimeConfig()

    @model_validator(mode="after")
    def _scores_ordered(self) -> TrackerConfig:
        if self.detector.score_threshold > self.tracking.high_score:
            raise ValueError(
                "detector.score_threshold must not exceed tracking.high_score "
                f"({self.detector.score_threshold} > {self.tracking.high_score})"
            )
        return self

    @classmethod
    def from_yaml(cls, path: str | Path) -> TrackerConfig:
        """Load a YAML file; every problem becomes a one-line ``ConfigError`` naming the file."""
        return load_yaml(cls, path)


def load_yaml(cls: type[_M], path: str | Path) -> _M:
    """Validate the YAML mapping in ``path`` as ``cls``; every problem becomes one line of
    ``ConfigError`` naming the file (and each key path)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: config is not UTF-8 text") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"{path}: invalid YAML{where}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise ConfigError(f"{path}: config must be a mapping of sections, got {kind}")
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {format_validation_error(exc)}") from None


def format_validation_error(exc: ValidationError) -> str:
    """All of pydantic's errors on one line, each with its dotted key path."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            parts.append(f"unknown key {loc!r}")
        else:
            parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)
