"""The configurable ONNX embedder, tested with a real model file: the packaged SFace converted
to float32 ONNX (``facetrack.recognition.convert``), run by onnxruntime."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from facetrack.cli import app
from facetrack.config import OnnxEmbedderConfig, RecognitionConfig, TrackerConfig
from facetrack.errors import ModelError
from facetrack.recognition.embedder import OnnxEmbedder, SFaceEmbedder, make_embedder
from facetrack.recognition.recognizer import FaceRecognizer


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


needs_onnx = pytest.mark.skipif(
    not all(_has(m) for m in ("onnxruntime", "onnx")), reason="needs facetrack[onnx]"
)

def pre(path: Path) -> OnnxEmbedderConfig:
    """SFace's preprocessing (it normalises inside): the model at ``path``, mean 0, std 1."""
    return OnnxEmbedderConfig(model_path=path, mean=0.0, std=1.0, channels="rgb")


@pytest.fixture(scope="module")
def sface_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from facetrack.recognition.convert import sface_to_float32

    return sface_to_float32(tmp_path_factory.mktemp("models") / "sface-float32.onnx")


def _faces(data_dir: Path, n: int) -> list[Path]:
    return sorted((data_dir / "deepface_pairs" / "images").iterdir())[:n]


@needs_onnx
@pytest.mark.data
def test_onnx_sface_matches_opencv_sface_on_real_faces(sface_onnx: Path, data_dir: Path
                                                       ) -> None:
    onnx_rec = FaceRecognizer(embedder=OnnxEmbedder(pre(sface_onnx)))
    cv_rec = FaceRecognizer(embedder=SFaceEmbedder())
    for path in _faces(data_dir, 4):
        a, _ = onnx_rec.predict(path)
        b, _ = cv_rec.predict(path)
        assert a.embedding is not None and b.embedding is not None and len(a) >= 1
        cos = np.sum(a.embedding * b.embedding, axis=1)
        assert np.all(cos > 0.9999), (path.name, cos)


@needs_onnx
@pytest.mark.data
def test_preprocessing_matters(sface_onnx: Path, data_dir: Path) -> None:
    """The mean/std/channels settings are really applied: SFace fed BGR, or InsightFace's
    normalisation, gives different vectors."""
    image = cv2.imread(str(_faces(data_dir, 1)[0]))
    faces, _ = FaceRecognizer().predict(image)
    right = OnnxEmbedder(pre(sface_onnx)).embed(image, faces.keypoints[:1])
    for change in ({"channels": "bgr"}, {"mean": 127.5, "std": 127.5}):
        other = OnnxEmbedder(pre(sface_onnx).model_copy(update=change))
        wrong = other.embed(image, faces.keypoints[:1])
        assert float(right[0] @ wrong[0]) < 0.999, change
        assert other.model_id != OnnxEmbedder(pre(sface_onnx)).model_id


@needs_onnx
@pytest.mark.data
def test_onnx_verification_on_deepface_pairs(sface_onnx: Path, data_dir: Path) -> None:
    root = data_dir / "deepface_pairs"
    rec = FaceRecognizer(embedder=OnnxEmbedder(pre(sface_onnx)))
    with (root / "pairs.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    same = [r for r in rows if r["same"] in ("1", "Yes")][:3]
    diff = [r for r in rows if r["same"] not in ("1", "Yes")][:3]
    for r in same:
        assert rec.verify(root / r["image1"], root / r["image2"]).same, r
    for r in diff:
        assert not rec.verify(root / r["image1"], root / r["image2"]).same, r


@needs_onnx
@pytest.mark.data
def test_dynamic_batch_model_embeds_all_faces_in_one_run(sface_onnx: Path, data_dir: Path,
                                                         tmp_path: Path) -> None:
    """The same network with a named batch axis: every face of a call goes through at once and
    gives the vectors one-at-a-time gives."""
    import onnx

    model = onnx.load(str(sface_onnx))
    for value in (model.graph.input[0], model.graph.output[0]):
        value.type.tensor_type.shape.dim[0].dim_param = "batch"
    dynamic = tmp_path / "sface-dynamic.onnx"
    onnx.save(model, str(dynamic))
    batched = OnnxEmbedder(pre(dynamic))
    single = OnnxEmbedder(pre(sface_onnx))
    assert batched._batched and not single._batched
    image = cv2.imread(str(_faces(data_dir, 1)[0]))
    faces, _ = FaceRecognizer().predict(image)
    kps = np.concatenate([faces.keypoints[:1]] * 3)
    kps[1] += 1.5  # three slightly different alignments
    kps[2] -= 1.0
    np.testing.assert_allclose(batched.embed(image, kps), single.embed(image, kps), atol=1e-5)


@needs_onnx
def test_embedder_from_config(sface_onnx: Path) -> None:
    cfg = RecognitionConfig.model_validate({"embedder": {
        "kind": "onnx", "model_path": str(sface_onnx), "mean": 0.0, "std": 1.0}})
    emb = make_embedder(cfg.embedder)
    assert isinstance(emb, OnnxEmbedder) and emb.dim == 128
    assert emb.model_id.startswith("onnx:") and emb.model_id != SFaceEmbedder().model_id
    assert emb.embed(np.zeros((50, 50, 3), np.uint8), np.zeros((0, 5, 2))).shape == (0, 128)


def test_onnx_needs_a_model_path() -> None:
    with pytest.raises(ValueError, match="model_path"):
        RecognitionConfig.model_validate({"embedder": {"kind": "onnx"}})


def test_the_old_embedder_spelling_is_read_and_the_new_one_named(
        caplog: pytest.LogCaptureFixture) -> None:
    old = RecognitionConfig.model_validate({
        "embedder": "onnx", "model_path": "m.onnx", "onnx": {"mean": 0.0, "std": 1.0}})
    assert old.embedder == OnnxEmbedderConfig(model_path=Path("m.onnx"), mean=0.0, std=1.0)
    assert "recognition.embedder: {kind: onnx, model_path: ...}" in caplog.text
    assert RecognitionConfig.model_validate({"embedder": "sface"}) == RecognitionConfig()


@needs_onnx
def test_bad_model_files_are_clear_errors(tmp_path: Path) -> None:
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model at all")
    with pytest.raises(ModelError, match=r"junk\.onnx: cannot load as an ONNX model"):
        OnnxEmbedder(OnnxEmbedderConfig(model_path=junk))
    with pytest.raises(ModelError, match="not found"):
        OnnxEmbedder(OnnxEmbedderConfig(model_path=tmp_path / "missing.onnx"))


@needs_onnx
def test_the_int8_file_itself_is_refused_with_a_reason() -> None:
    """The packaged int8 file declares its weights as inputs: a clear error, not a crash."""
    from facetrack import models

    with pytest.raises(ModelError, match="takes one input"):
        OnnxEmbedder(pre(models.locate("sface")))


@needs_onnx
@pytest.mark.data
def test_cli_enrols_and_tracks_with_the_onnx_model(sface_onnx: Path, data_dir: Path,
                                                   tmp_path: Path) -> None:
    """A database made with the ONNX model is bound to it: the default SFace is refused with a
    clear error naming both models."""
    cfg = TrackerConfig.model_validate({"recognition": {"embedder": {
        "kind": "onnx", "model_path": str(sface_onnx), "mean": 0.0, "std": 1.0,
        "channels": "rgb"}}})
    cfg_file = tmp_path / "onnx.yaml"
    cfg_file.write_text(_yaml(cfg))
    db = tmp_path / "faces.db"
    photo = _faces(data_dir, 1)[0]
    runner = CliRunner()
    res = runner.invoke(app, ["db", "enroll", "ada", str(photo), "--db", str(db),
                              "-c", str(cfg_file)])
    assert res.exit_code == 0, res.output
    video = data_dir / "synth_tracks" / "synth03" / "video.mp4"
    res = runner.invoke(app, ["track", str(video), "--out", str(tmp_path / "o"), "-q",
                              "--recognize", "--db", str(db), "-c", str(cfg_file)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["db", "enroll", "bob", str(_faces(data_dir, 2)[1]),
                              "--db", str(db)])
    assert res.exit_code == 2 and isinstance(res.exception, SystemExit)
    assert "onnx:" in res.output and "sface-2021dec" in res.output


def _yaml(cfg: TrackerConfig) -> str:
    import yaml

    return yaml.safe_dump(cfg.model_dump(mode="json"))
