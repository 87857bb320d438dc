"""A real server's parts for the API tests: a store with an account per role, an API key per
role, events, an audience window and a real evidence clip (tracked by facetrack, with its
sidecar as the monitor writes it)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from facetrack.api import create_app
from facetrack.api.context import open_services
from facetrack.config.api import ApiConfig
from facetrack.config.service import ClipStorageConfig, ServerConfig, StoreConfig
from facetrack.events import Alert, IdentityMatched, TrackEnded, TrackStarted
from facetrack.storage.accounts import ROLES, AccountStore

PASSWORD = "correct horse battery"
CAMERA = "door"
CLIP_KEY = f"{CAMERA}/20261130/{CAMERA}-20261130T101500123456-unknown_face"


@dataclass
class Server:
    client: TestClient
    services: Any
    folder: Path
    keys: dict[str, str]  # role -> API key
    clip_track: int  # a track id of the clip's sidecar

    def as_key(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def login(self, name: str, password: str = PASSWORD) -> dict[str, str]:
        """Log ``name`` in on this client (cookie); the CSRF header to send."""
        r = self.client.post("/api/auth/login", json={"name": name, "password": password})
        assert r.status_code == 200, r.text
        return {"X-CSRF-Token": r.json()["csrf"]}


_TRACKED: dict[Path, tuple[list[dict[str, Any]], dict[int, int]]] = {}


def _tracked(clip: Path) -> tuple[list[dict[str, Any]], dict[int, int]]:
    """facetrack's results of ``clip`` frame by frame, and frames per track (once per run)."""
    from facetrack.pipeline.tracker import FaceTracker

    if clip not in _TRACKED:
        records, counts = [], {}
        with FaceTracker().open(clip) as (_info, results):
            for result in results:
                records.append(result.to_json())
                for tid in result.faces.track_id.tolist():
                    if tid >= 0:
                        counts[tid] = counts.get(tid, 0) + 1
        _TRACKED[clip] = (records, counts)
    return _TRACKED[clip]


def make_clip(clip: Path, root: Path) -> int:
    """Store ``clip`` under CLIP_KEY with a sidecar of facetrack's own tracking of it (as
    the monitor writes one); the id of its longest track."""
    target = root / f"{CLIP_KEY}.mp4"
    target.parent.mkdir(parents=True)
    shutil.copy(clip, target)
    records, counts = _tracked(clip)
    meta = {"camera": CAMERA, "key": CLIP_KEY, "start_s": 0.0,
            "end_s": records[-1]["timestamp"], "frames": len(records), "alerts": [],
            "results": records}
    (root / f"{CLIP_KEY}.json").write_text(json.dumps(meta), encoding="utf-8")
    return max(counts, key=lambda t: counts[t])


def seed_events(services: Any, clip_link: str, track: int) -> None:
    base = {"camera": CAMERA, "frame": 10, "timestamp": 1.0}
    services.events.add([
        TrackStarted(track_id=track, wall_time="2026-11-30T10:14:59.000+00:00", **base),
        Alert(track_id=track, wall_time="2026-11-30T10:15:00.123+00:00", reason="unknown_face",
              person_key=f"track:{track}", clip=clip_link, **base),
        TrackEnded(track_id=track, wall_time="2026-11-30T10:15:05.000+00:00", duration_s=5.0,
                   frames=50, **base),
        TrackStarted(track_id=99, wall_time="2026-11-30T10:16:00.000+00:00",
                     **{**base, "camera": "yard"}),
        IdentityMatched(track_id=99, wall_time="2026-11-30T10:16:01.000+00:00", person_id=1,
                        person="Ada", similarity=0.7, **{**base, "camera": "yard"}),
    ])
    services.audience.add([{
        "camera": CAMERA, "window_start": "2026-11-30T10:15:00.000+00:00",
        "window_end": "2026-11-30T10:16:00.000+00:00", "zone": "all", "target": "camera",
        "ots": 3, "watchers": 2, "conversion": 0.667, "dwell_mean_s": 7.5,
        "attention_total_s": 9.0, "dwell_0_5": 1, "dwell_5_15": 2}])


@contextmanager
def api_server(folder: Path, clip: Path | None = None, **api: Any) -> Iterator[Server]:
    store = folder / "events.db"
    keys = {}
    with AccountStore(store) as accounts:
        for role in ROLES:
            accounts.add_user(role, role, PASSWORD)
            keys[role] = accounts.add_key(f"{role}-key", role, "test")[0]
    clips = folder / "clips"
    clips.mkdir()
    track = make_clip(clip, clips) if clip is not None else -1
    config = ServerConfig(store=StoreConfig(events_db=str(store), events_jsonl=None),
                          clips=ClipStorageConfig(dir=clips),
                          api=ApiConfig(faces_db=str(folder / "faces.db"),
                                        jobs_dir=folder / "jobs", **api))
    with open_services(config) as services:
        seed_events(services, str((clips / f"{CLIP_KEY}.mp4").resolve()), track)
        with TestClient(create_app(services), raise_server_exceptions=False) as client:
            yield Server(client, services, folder, keys, track)
