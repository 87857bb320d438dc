"""Evidence clips (ring buffer, MP4 + sidecar, local and S3 storage with an outage) and
notifications (a real SMTP server and a real HTTP webhook; a dead notifier does not stall)."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest

from facetrack.config.camera import ClipsConfig
from facetrack.config.service import ClipStorageConfig
from facetrack.draw import annotate
from facetrack.errors import ConfigError, OutputError
from facetrack.events import Alert
from facetrack.faces import Faces
from facetrack.frames import Frame
from facetrack.results import FrameResult
from facetrack.rules.alerts import ClipPlan
from facetrack.sinks.clips import ClipRecorder, ClipWriter
from facetrack.sinks.notify import Notifier
from facetrack.storage.clips import (
    LocalClipStorage,
    S3ClipStorage,
    make_clip_storage,
)
from tests.builders import assert_one_line_error, facetrack
from tests.integration.servers import MotoServer, WebhookReceiver, free_port

FPS = 10.0


def _result(i: int, camera: str = "cam") -> FrameResult:
    image = np.full((48, 64, 3), (i * 7) % 255, np.uint8)
    faces = Faces.from_arrays([[10, 10, 30, 30]], [0.9], track_id=[1])
    return FrameResult(Frame(image, camera, i, i / FPS), faces)


def _alert(t: float, reason: str = "unknown_face", camera: str = "cam",
           person: str | None = None) -> Alert:
    wall = f"2026-11-30T12:00:{t:06.3f}+00:00"
    if person is not None:
        return Alert(camera, int(t * FPS), t, 1, wall, reason="identity_matched",
                     person_key="person:7", person_id=7, person=person)
    return Alert(camera, int(t * FPS), t, 1, wall, reason=reason, person_key="unknown:1")


def _record(storage: LocalClipStorage | S3ClipStorage, alerts_at: dict[int, list[float]],
            frames: int, cfg: ClipsConfig, writer: ClipWriter | None = None,
            camera: str = "cam", gate: Callable[[int], None] | None = None,
            people: dict[float, str] | None = None,
            ) -> tuple[ClipRecorder, ClipWriter, dict[float, str]]:
    """Frames through a camera's clip recorder, with alerts at the given frames whose clip
    links the alert stage's ``ClipPlan`` decided."""
    writer = writer if writer is not None else ClipWriter(storage)
    plan = ClipPlan(camera, cfg, storage.links.link)
    rec = ClipRecorder(camera, cfg, writer, storage.links.key, annotate)
    keys = {}
    for i in range(frames):
        alerts = []
        for t in alerts_at.get(i, []):
            alert = _alert(t, camera=camera, person=(people or {}).get(t))
            alert = alert.with_clip(plan.assign(alert))
            keys[t] = storage.links.key(alert.clip)
            alerts.append(alert)
        rec.consume(_result(i, camera).replace(events=tuple(alerts)))
        if gate is not None:
            gate(i)
    rec.close()
    writer.close()
    return rec, writer, keys


def _mp4_frames(path: Path) -> tuple[int, float]:
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        times = [float(f.pts * f.time_base) for f in c.decode(stream)]
    return len(times), times[-1] - times[0]


def test_clips_ring_buffer_overlap_and_sidecar(tmp_path: Path) -> None:
    cfg = ClipsConfig(enabled=True, pre_s=1.0, post_s=1.0, annotated=False)
    storage = LocalClipStorage(ClipStorageConfig(dir=tmp_path / "clips"))
    # alerts at 2.0 s and 2.5 s overlap (one clip, 1.0 .. 3.5 s); 8.0 s is a second clip
    _, writer, keys = _record(storage, {20: [2.0], 25: [2.5], 80: [8.0]}, 120, cfg)
    assert writer.written == 2 and writer.failed == 0
    assert keys[2.0] == keys[2.5] != keys[8.0]
    video = tmp_path / "clips" / f"{keys[2.0]}.mp4"
    sidecar = json.loads((tmp_path / "clips" / f"{keys[2.0]}.json").read_text())
    assert [a["timestamp"] for a in sidecar["alerts"]] == [2.0, 2.5]
    assert sidecar["start_s"] == pytest.approx(1.0) and sidecar["end_s"] == pytest.approx(3.5)
    n, span = _mp4_frames(video)
    assert n == sidecar["frames"] == len(sidecar["results"]) == 26
    assert span == pytest.approx(2.5, abs=0.02)  # frame times kept
    assert storage.link(keys[8.0]).endswith(f"{keys[8.0]}.mp4")
    assert not list((tmp_path / "clips" / ".spool").iterdir())


def test_a_long_run_of_alerts_is_cut_at_max_s(tmp_path: Path) -> None:
    cfg = ClipsConfig(enabled=True, pre_s=0.5, post_s=1.0, max_s=3.0, annotated=True)
    storage = LocalClipStorage(ClipStorageConfig(dir=tmp_path / "clips"))
    alerts = {i: [i / FPS] for i in range(10, 80, 5)}  # an alert every 0.5 s for 7 s
    rec, writer, keys = _record(storage, alerts, 100, cfg)
    assert rec.opened == writer.written >= 3
    for key in set(keys.values()):
        _, span = _mp4_frames(tmp_path / "clips" / f"{key}.mp4")
        assert span <= 3.0 + 1e-6


def test_retention_by_total_size(tmp_path: Path) -> None:
    cfg = ClipsConfig(enabled=True, pre_s=0.5, post_s=0.5, annotated=False)
    storage = LocalClipStorage(ClipStorageConfig(dir=tmp_path / "clips", max_total_mb=0.00001))
    _record(storage, {10: [1.0], 40: [4.0], 70: [7.0]}, 90, cfg)
    left = list((tmp_path / "clips").rglob("*.mp4"))
    assert len(left) <= 1  # the newest at most: the cap is below one clip


def test_retention_only_ever_removes_facetracks_own_clips(tmp_path: Path) -> None:
    """With clips.dir pointed at a folder of the user's own videos, retention prunes the clips
    facetrack wrote and nothing else (names and sidecars tell them apart)."""
    root = tmp_path / "videos"
    (root / "family").mkdir(parents=True)
    mine = [root / "wedding.mp4", root / "family" / "holiday.mp4",
            root / "cam" / "20200101" / "cam-holiday.mp4"]
    for p in mine:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"\0" * 4096)
        os.utime(p, (0, 0))  # 1970: older than any max_age_days
    cfg = ClipsConfig(enabled=True, pre_s=0.5, post_s=0.5, annotated=False)
    storage = LocalClipStorage(ClipStorageConfig(dir=root, max_total_mb=0.00001,
                                                 max_age_days=1))
    _record(storage, {10: [1.0], 40: [4.0]}, 60, cfg)
    assert all(p.exists() for p in mine)
    assert len(storage.own_clips()) <= 1


def test_cameras_with_dots_in_their_names_keep_every_clip(tmp_path: Path) -> None:
    cfg = ClipsConfig(enabled=True, pre_s=0.2, post_s=0.2, annotated=False)
    storage = LocalClipStorage(ClipStorageConfig(dir=tmp_path / "clips"))
    _, writer, keys = _record(storage, {10: [1.0], 30: [3.0], 50: [5.0]}, 60, cfg,
                              camera="door.1")
    assert writer.written == 3 and len(set(keys.values())) == 3
    for key in keys.values():
        assert (tmp_path / "clips" / f"{key}.mp4").is_file()
        assert (tmp_path / "clips" / f"{key}.json").is_file()


class _GatedStorage(LocalClipStorage):
    """The real local storage, whose first ``put`` waits for ``release``: the writer is busy
    while the test queues more clips."""

    def __init__(self, config: ClipStorageConfig) -> None:
        super().__init__(config)
        self.entered, self.release = threading.Event(), threading.Event()

    def put(self, key: str, video: Path, sidecar: Path) -> None:
        self.entered.set()
        self.release.wait(30)
        super().put(key, video, sidecar)


def test_clips_queued_past_the_limit_are_dropped_and_counted(tmp_path: Path) -> None:
    """Alerts faster than the machine encodes: while the writer is busy with the first clip,
    five more are queued; the queue keeps at most ``max_queued_mb`` of frames (here almost
    nothing: one clip), so the four oldest queued are given up and counted, the newest is
    written, and every clip is either written or counted lost."""
    storage = _GatedStorage(ClipStorageConfig(dir=tmp_path / "clips"))
    writer = ClipWriter(storage, max_mb=0.0001)

    def gate(i: int) -> None:
        if i == 20:  # the first clip is done: the writer takes it and blocks in put()
            assert storage.entered.wait(30)
        if i == 129:
            threading.Timer(0.5, storage.release.set).start()

    cfg = ClipsConfig(enabled=True, pre_s=0.5, post_s=0.5, annotated=False)
    # an alert every 2 s: 6 separate clips
    rec, _, keys = _record(storage, {i: [i / FPS] for i in range(10, 130, 20)}, 130, cfg,
                           writer=writer, gate=gate)
    st = writer.stats("cam")
    assert (rec.opened, st.written, st.lost, st.waiting) == (6, 2, 4, 0)
    assert writer.queue.bytes_waiting == 0
    on_disk = {str(p.resolve()) for p in (tmp_path / "clips").rglob("*.mp4")}
    ordered = [keys[t] for t in sorted(keys)]
    assert on_disk == {storage.link(ordered[0]), storage.link(ordered[-1])}


def test_unwritable_clip_folder_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="clip folder is not writable"):
        make_clip_storage(ClipStorageConfig(dir=blocker / "clips"))
    with pytest.raises(ValueError, match=r"needs clips\.s3"):
        ClipStorageConfig(kind="s3")


# -- S3: a real S3-compatible server (moto) that goes down and comes back -------------------


def test_s3_outage_loses_no_clip(s3_env: None, moto: MotoServer, tmp_path: Path) -> None:
    moto.make_bucket("clips")
    cfg = ClipStorageConfig(kind="s3", dir=tmp_path / "spool", retry_every_s=0.5,
                            s3={"bucket": "clips", "prefix": "ft/", "endpoint_url": moto.url})
    storage = S3ClipStorage(cfg)
    clips = ClipsConfig(enabled=True, pre_s=0.5, post_s=0.5, annotated=False)
    try:
        _, _, first = _record(storage, {10: [1.0]}, 20, clips)
        assert storage.flush(10.0)  # uploads run on their own queue
        assert moto.keys("clips") == sorted(f"ft/{first[1.0]}{s}" for s in (".json", ".mp4"))
        moto.stop()  # the storage goes down while two more clips are made
        _, writer, later = _record(storage, {10: [1.0], 40: [4.0]}, 50, clips)
        assert writer.written == 2 and storage.pending() == 2
        assert storage.link(later[1.0]) == f"s3://clips/ft/{later[1.0]}.mp4"
        moto.start()  # back (empty, as a fresh moto is): the bucket is made again
        moto.make_bucket("clips")
        end = time.monotonic() + 20
        while storage.pending() and time.monotonic() < end:
            time.sleep(0.2)
        assert storage.pending() == 0
        keys = moto.keys("clips")
        assert all(f"ft/{k}.mp4" in keys and f"ft/{k}.json" in keys for k in later.values())
    finally:
        storage.close()


def test_erasure_blurs_or_deletes_clips_on_s3(s3_env: None, moto: MotoServer,
                                              tmp_path: Path) -> None:
    """``facetrack db forget --subject-clips blur`` on S3 storage: the clip of the alert about
    the person is fetched, re-encoded with every face blurred, uploaded over the old one and
    its sidecar rewritten; ``delete`` removes both objects; the other clip is left alone."""
    from facetrack.privacy.erase import Receipt, _clips
    from facetrack.storage.clip_browser import S3Clips

    moto.make_bucket("clips")
    cfg = ClipStorageConfig(kind="s3", dir=tmp_path / "spool",
                            s3={"bucket": "clips", "prefix": "ft/", "endpoint_url": moto.url})
    storage = S3ClipStorage(cfg)
    clips = ClipsConfig(enabled=True, pre_s=0.5, post_s=0.5, annotated=False)
    try:
        _, _, keys = _record(storage, {10: [1.0], 40: [4.0]}, 50, clips, people={1.0: "ann"})
        assert storage.flush(10.0)
    finally:
        storage.close()
    browser = S3Clips(cfg)
    ann, other = keys[1.0], keys[4.0]
    env = {"AWS_ENDPOINT_URL": moto.url}
    found = facetrack("privacy-check", "s3://clips/ft/", env=env)
    assert found.returncode == 1, found.stderr
    assert [json.loads(line) for line in found.stdout.splitlines()] == [
        {"path": f"s3://clips/ft/{ann}.json", "what": "a person's name"}]
    before = {k: b"".join(browser.read(k, 0, browser.head(k) - 1)) for k in (ann, other)}
    receipt = Receipt("ann", 7, "now")
    _clips(browser, 7, "ann", receipt, "blur")
    assert receipt.clips_blurred == [ann] and receipt.clips_deleted == []
    after = b"".join(browser.read(ann, 0, browser.head(ann) - 1))
    assert after != before[ann]
    (tmp_path / "blurred.mp4").write_bytes(after)
    assert _mp4_frames(tmp_path / "blurred.mp4")[0] == _mp4_frames(
        _saved(tmp_path / "old.mp4", before[ann]))[0]
    assert "ann" not in json.dumps(browser.meta(ann))
    assert b"".join(browser.read(other, 0, browser.head(other) - 1)) == before[other]
    clean = facetrack("privacy-check", "s3://clips/ft/", env=env)
    assert clean.returncode == 0 and clean.stdout == "", clean.stderr
    assert_one_line_error(facetrack("privacy-check", "s3://nobucket/x", env=env), 2,
                          "cannot read the bucket")
    _clips(browser, 7, "erased", receipt, "delete")
    assert ann in receipt.clips_deleted
    assert all(not k.startswith(f"ft/{ann}") for k in moto.keys("clips"))


def _saved(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# -- notifications: a real SMTP server and a real webhook receiver ---------------------------


class _Smtp:
    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[str] = []
        outer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
                outer.messages.append(envelope.content.decode("utf-8", "replace"))
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def url(self) -> str:
        return (f"mailto://127.0.0.1:{self.port}?from=cam@example.com&to=ops@example.com"
                "&mode=insecure")


def test_notifications_arrive_by_email_and_webhook() -> None:
    smtp, hook = _Smtp(), WebhookReceiver()
    try:
        notifier = Notifier("door", [smtp.url(), f"json://127.0.0.1:{hook.port}/alert"],
                            title="facetrack: {reason} on {camera}",
                            body="{person} at {time}, clip {clip}", timeout_s=5, retries=1)
        alert = Alert("door", 5, 0.5, 3, "2026-11-30T12:00:00.500+00:00",
                      reason="identity_matched", person_key="person:7", person_id=7,
                      person="Ada Lovelace")
        notifier.notify(alert, "s3://clips/door/x.mp4")
        notifier.close()
        assert notifier.counters.sent == 1 and notifier.counters.failed == 0
        assert len(smtp.messages) == 1
        mail = smtp.messages[0]
        assert "facetrack: identity matched on door" in mail and "Ada Lovelace" in mail
        assert "s3://clips/door/x.mp4" in mail
        assert len(hook.bodies) == 1
        assert hook.bodies[0]["title"] == "facetrack: identity matched on door"
        assert "Ada Lovelace" in hook.bodies[0]["message"]
    finally:
        smtp.controller.stop()
        hook.close()


def test_a_dead_notifier_never_stalls_the_caller() -> None:
    port = free_port()  # nothing listens there
    notifier = Notifier("door", [f"json://127.0.0.1:{port}/x"], title="t", body="b",
                        timeout_s=0.5, retries=1)
    alert = Alert("door", 1, 0.1, 1, "2026-11-30T12:00:00.100+00:00", reason="unknown_face",
                  person_key="unknown:1")
    t0 = time.perf_counter()
    for _ in range(200):
        notifier.notify(alert, None)
    took = time.perf_counter() - t0
    assert took < 0.2, took  # queueing only: ~microseconds a call
    time.sleep(3.0)
    notifier.close(patience_s=1.0)
    c = notifier.counters
    assert c.sent == 0 and c.failed >= 1 and c.dropped >= 1  # bounded queue, counted


def test_bad_notification_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError,
                       match=r"camera door: notification URL 'nosuch://\.\.\.' is not"):
        Notifier("door", ["nosuch://whatever"], title="t", body="b")
