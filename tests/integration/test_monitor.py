"""facetrack monitor end to end: a real RTSP camera (killed and restarted), a file camera and an
unreachable camera in one process; recognition alerts with hold-off; SIGTERM; the events CLI."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from facetrack.cli import app
from facetrack.errors import ConfigError
from facetrack.service import Monitor, MonitorConfig
from facetrack.storage.events import EventStore
from tests.builders import monitor_until_sigterm, wait_until
from tests.integration.servers import Camera, PostgresServer, WebhookReceiver, free_port

pytestmark = pytest.mark.data


@pytest.fixture()
def camera(live_clip: Path) -> Iterator[Camera]:
    cam = Camera(live_clip, "door")
    yield cam
    cam.close()


def _enrol_synth01(seq: Path, tmp_path: Path) -> Path:
    """A face database with the sequence's enrolment photos (its known actors)."""
    db = tmp_path / "faces.db"
    runner = CliRunner()
    for photo in sorted((seq / "enrollment").glob("*.jpg")):
        res = runner.invoke(app, ["db", "enroll", photo.stem, str(photo), "--db", str(db)])
        assert res.exit_code == 0, res.output
    return db


def _config(tmp_path: Path, cameras: list[dict], **extra: object) -> MonitorConfig:
    data = {"store": {"events_db": str(tmp_path / "ev.db"),
                      "events_jsonl": str(tmp_path / "ev.jsonl")},
            "metrics": {"log_every_s": 1}, "cameras": cameras, **extra}
    return MonitorConfig.model_validate(data)




def _start(cfg: MonitorConfig) -> tuple[Monitor, threading.Thread, list[dict]]:
    """A monitor running on its own thread, and the list of every event it publishes."""
    published: list[dict] = []
    mon = Monitor(cfg, on_events=lambda evs: published.extend(e.to_dict() for e in evs))
    runner = threading.Thread(target=mon.run)
    runner.start()
    return mon, runner, published


def test_three_cameras_one_down_one_restarted(camera: Camera, live_clip: Path, tmp_path: Path
                                              ) -> None:
    port = free_port()
    cfg = _config(tmp_path, [
        {"name": "door", "source": camera.url, "read_timeout_s": 3,
         "tracker": {"tracking": {"lost_track_buffer": 25}}},
        {"name": "file", "source": str(live_clip), "loop": True, "fps_cap": 10},
        {"name": "dead", "source": "rtsp://127.0.0.1:9/none", "read_timeout_s": 1},
    ], metrics={"port": port, "log_every_s": 1})
    mon = Monitor(cfg)
    runner = threading.Thread(target=mon.run, kwargs={"duration_s": 30})
    runner.start()
    try:
        door = mon.cameras["door"].counters
        assert wait_until(lambda: door.processed >= 20, 15), door
        def scrape() -> str:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
                return str(resp.read().decode())

        text = scrape()
        assert 'facetrack_frames_processed_total{camera="door"}' in text
        assert 'facetrack_notifications_failed_total{camera="door"} 0.0' in text
        assert 'facetrack_events_waiting{sink="event store"} 0.0' in text

        def fps() -> dict[str, float]:
            return {line.split("{")[0]: float(line.split()[-1])
                    for line in scrape().splitlines()
                    if line.startswith("facetrack_fps_") and 'camera="file"' in line}

        # the file camera plays at 25 fps, capped at 10 (over a window that starts filling
        # while the models load, hence the wait)
        assert wait_until(lambda: 20 < fps()["facetrack_fps_in"] < 30
                    and 8 < fps()["facetrack_fps_out"] <= 10.5, 20), fps()
        assert 'facetrack_camera_online{camera="dead"} 0.0' in text
        camera.stop()
        assert wait_until(lambda: door.live.state == "reconnecting", 10), door.live
        time.sleep(2)
        before = door.processed
        camera.start()
        assert wait_until(lambda: door.live.state == "online" and door.processed > before + 10, 15)
    finally:
        mon.stop()
        runner.join(timeout=60)
    assert not runner.is_alive()
    counters = mon.counters()
    assert counters["door"].live.reconnects >= 1 and counters["door"].failures == 0
    assert counters["file"].processed > 50 and counters["file"].live.skipped > 0
    assert counters["dead"].processed == 0 and counters["dead"].live.reconnects >= 3
    with EventStore(tmp_path / "ev.db") as store:
        rows = store.query()
        door_rows = store.query(camera="door")
        assert store.query(camera="file")
    lines = (tmp_path / "ev.jsonl").read_text().splitlines()
    assert len(lines) == len(rows) > 0
    kinds = [r["kind"] for r in door_rows]
    assert "track_started" in kinds and "track_ended" in kinds
    # every track that started was ended by the time the monitor stopped
    started = {(r["camera"], r["track_id"]) for r in rows if r["kind"] == "track_started"}
    ended = {(r["camera"], r["track_id"]) for r in rows if r["kind"] == "track_ended"}
    assert started == ended


def test_recognition_alerts_once_per_person(data_dir: Path, tmp_path: Path) -> None:
    """synth01 with its 2 enrolled actors, alerts ON_ALL and a long hold-off: each enrolled
    person alerts once (one of them leaves and comes back as a new track), and the unknown
    actors alert once each."""
    seq = data_dir / "synth_tracks" / "synth01"
    db = _enrol_synth01(seq, tmp_path)
    cfg = _config(tmp_path, [{
        "name": "synth", "source": str(seq / "video.mp4"),
        "alerts": {"mode": "ON_ALL", "holdoff_s": 1000},
        "tracker": {"recognition": {"enabled": True, "database": str(db)}},
    }])
    counters = Monitor(cfg).run(duration_s=40)  # a file played once ends the camera
    assert counters["synth"].failures == 0
    with EventStore(tmp_path / "ev.db") as store:
        alerts = store.query(kind="alert")
        matched = store.query(kind="identity_matched")
    known = sorted(a["person"] for a in alerts if a["person_key"].startswith("person:"))
    assert known == sorted(p.stem for p in (seq / "enrollment").glob("*.jpg"))
    unknown = [a for a in alerts if a["person_key"].startswith("unknown:")]
    assert 1 <= len(unknown) <= 2
    # the re-entering actor was matched on both tracks, but alerted once
    assert len(matched) >= len(known)


def test_sigterm_stops_cleanly_and_the_events_cli_reads_the_store(live_clip: Path,
                                                                   tmp_path: Path) -> None:
    cfg = {"store": {"events_db": str(tmp_path / "ev.db"), "events_jsonl": None},
           "cameras": [{"name": "file", "source": str(live_clip), "loop": True}]}
    proc = monitor_until_sigterm(cfg, tmp_path, 6)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["file"]["processed"] > 0 and summary["file"]["state"] == "stopped"
    runner = CliRunner()
    res = runner.invoke(app, ["events", "--store", str(tmp_path / "ev.db"), "--type",
                              "track_ended"])
    assert res.exit_code == 0, res.output
    ended = [json.loads(line) for line in res.output.splitlines()]
    assert ended and all(e["kind"] == "track_ended" for e in ended)
    res = runner.invoke(app, ["events", "--store", str(tmp_path / "ev.db"), "--since", "soon"])
    assert res.exit_code == 2 and "ISO time" in res.output


def test_bad_monitor_configs_are_one_line_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    cases = {
        "unknown key": {"cameras": [{"name": "a", "source": "x.mp4", "colour": 1}]},
        "zone": {"cameras": [{"name": "a", "source": "x.mp4", "zones": {"z": [[0, 0], [1, 1]]}}]},
        "unique": {"cameras": [{"name": "a", "source": "x"}, {"name": "a", "source": "y"}]},
        "needs tracker.recognition": {"cameras": [{"name": "a", "source": "x",
                                                   "alerts": {"mode": "ON_ALL"}}]},
    }
    for expect, data in cases.items():
        path = tmp_path / "bad.yaml"
        path.write_text(yaml.safe_dump(data))
        with pytest.raises(ConfigError, match=expect):
            MonitorConfig.from_yaml(path)
        res = runner.invoke(app, ["check-config", str(path)])
        assert res.exit_code == 2 and expect in res.output, res.output
        assert len(res.output.strip().splitlines()) == 1
        res = runner.invoke(app, ["monitor", str(path)])
        assert res.exit_code == 2


def test_events_cli_without_a_store(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["events", "--store", str(tmp_path / "none.db")])
    assert res.exit_code == 2 and "no event store" in res.output


def test_alerts_record_clips_and_notify(data_dir: Path, tmp_path: Path) -> None:
    """Recognition alerts on synth01 with clips and a webhook: every alert names its clip, the
    clip and its sidecar are on disk, and the webhook got one message per alert."""
    seq = data_dir / "synth_tracks" / "synth01"
    db = _enrol_synth01(seq, tmp_path)
    hook = WebhookReceiver()
    try:
        cfg = _config(tmp_path, [{
            "name": "synth", "source": str(seq / "video.mp4"),
            "alerts": {"mode": "ON_KNOWNS", "holdoff_s": 1000},
            "clips": {"enabled": True, "pre_s": 1, "post_s": 1},
            "notify": {"urls": [f"json://127.0.0.1:{hook.port}/alert"]},
            "tracker": {"recognition": {"enabled": True, "database": str(db)}},
        }], clips={"dir": str(tmp_path / "clips")})
        mon = Monitor(cfg)
        counters = mon.run(duration_s=40)
    finally:
        hook.close()
    assert counters["synth"].failures == 0
    with EventStore(tmp_path / "ev.db") as store:
        alerts = store.query(kind="alert")
    assert len(alerts) == 2  # the two enrolled actors, once each
    for a in alerts:
        clip = Path(a["clip"])
        assert clip.is_file() and clip.with_suffix(".json").is_file(), a
        side = json.loads(clip.with_suffix(".json").read_text())
        assert any(x["person"] == a["person"] for x in side["alerts"])
    assert mon.clip_writer is not None and mon.clip_writer.written == counters["synth"].clips
    assert len(hook.bodies) == len(alerts)
    messages = [b["message"] for b in hook.bodies]
    for a in alerts:
        assert any(a["person"] in m and a["clip"] in m for m in messages), (a, messages)


def test_a_full_disk_loses_no_event_and_no_clip(live_clip: Path, tmp_path: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    """The event store, events.jsonl and the clips share a small real file system that fills
    up mid-run: the camera keeps processing, what the disk refuses waits and is written once
    space is freed; at the end every published event is stored once and every clip exists."""
    from tests.integration.servers import fill_disk, small_disk

    with small_disk(tmp_path / "disk", 48) as disk:
        cfg = MonitorConfig.model_validate({
            "store": {"events_db": str(disk / "ev.db"), "events_jsonl": str(disk / "ev.jsonl")},
            "clips": {"dir": str(disk / "clips"), "retry_every_s": 1, "max_total_mb": None},
            "cameras": [{"name": "file", "source": str(live_clip), "loop": True,
                         "tracker": {"tracking": {"lost_track_buffer": 12}},
                         "alerts": {"on": ["track_started"], "holdoff_s": 0},
                         "clips": {"enabled": True, "pre_s": 0.5, "post_s": 0.5,
                                   "jpeg_quality": 50}}],
        })
        mon, runner, published = _start(cfg)
        try:
            cam = mon.cameras["file"]
            assert wait_until(lambda: mon.counters()["file"].clips_written >= 1, 30), cam.counters
            filler = fill_disk(disk)
            before, waited, clips_waited = cam.counters.processed, 0, 0
            end = time.monotonic() + 14  # two loops of the clip: new tracks, alerts, clips
            while time.monotonic() < end:
                waited = max(waited, sum(o.waiting for o in mon.event_sinks))
                clips_waited = max(clips_waited, mon.counters()["file"].clips_waiting)
                time.sleep(0.2)
            assert cam.counters.processed > before + 50  # the camera went on
            assert waited > 0 and clips_waited > 0
            filler.unlink()
            assert wait_until(lambda: not any(o.waiting for o in mon.event_sinks)
                         and not mon.counters()["file"].clips_waiting, 30)
        finally:
            mon.stop()
            runner.join(timeout=60)
        assert not runner.is_alive()
        counters = mon.counters()["file"]
        assert counters.failures == 0 and counters.clips_lost == 0
        assert counters.clips_written == counters.clips
        with EventStore(disk / "ev.db") as store:
            stored = store.query()
        lines = [json.loads(x) for x in (disk / "ev.jsonl").read_text().splitlines()]
        assert stored == published and lines == published  # each once, in order
        alerts = [e for e in published if e["kind"] == "alert"]
        assert alerts and all(Path(a["clip"]).is_file() for a in alerts)
    messages = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any("event store" in m and "disk is full" in m for m in messages), messages
    assert any("No space left on device" in m and "camera file" in m for m in messages)


def test_postgres_store_outage_loses_no_event(live_clip: Path, postgres: PostgresServer,
                                              pg_url: str, caplog: pytest.LogCaptureFixture
                                              ) -> None:
    """A real PostgreSQL server as the event store goes down mid-run for 12 s and comes back:
    the camera keeps processing, the refused events wait and every published event ends up
    stored once, in order; `facetrack events --store URL` reads them."""
    cfg = MonitorConfig.model_validate({
        "store": {"events_db": pg_url, "events_jsonl": None},
        "cameras": [{"name": "file", "source": str(live_clip), "loop": True,
                     "tracker": {"tracking": {"lost_track_buffer": 12}}}],
    })
    mon, runner, published = _start(cfg)
    try:
        cam = mon.cameras["file"]
        assert wait_until(lambda: cam.counters.processed > 30 and bool(published), 30), cam.counters
        postgres.stop()
        before, waited = cam.counters.processed, 0
        end = time.monotonic() + 12
        while time.monotonic() < end:
            waited = max(waited, sum(o.waiting for o in mon.event_sinks))
            time.sleep(0.2)
        assert cam.counters.processed > before + 50 and waited > 0
    finally:
        postgres.start()
    try:
        assert wait_until(lambda: not any(o.waiting for o in mon.event_sinks), 30)
    finally:
        mon.stop()
        runner.join(timeout=60)
    assert mon.counters()["file"].failures == 0
    with EventStore(pg_url) as store:
        assert store.query() == published
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any("event store" in m and "cannot store events" in m for m in errors), errors
    res = CliRunner().invoke(app, ["events", "--store", pg_url, "--type", "track_ended"])
    assert res.exit_code == 0, res.output
    assert [json.loads(x) for x in res.output.splitlines()] == [
        e for e in published if e["kind"] == "track_ended"]


def test_event_store_targets_that_cannot_work_are_one_line_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["events", "--store", "mysql://u@127.0.0.1/x"])
    assert res.exit_code == 2 and "postgresql:// URL" in res.output
    res = runner.invoke(app, ["events", "--store", f"postgresql://u@127.0.0.1:{free_port()}/x"])
    assert res.exit_code == 2 and "cannot open the event store" in res.output
    assert len(res.output.strip().splitlines()) == 1
