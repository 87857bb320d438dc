"""The API's routes that handle faces and files, on real data: clips (range requests, path
tricks, delete), people from photos, detect/verify/recognize, enrolment from an event's track,
unknown faces, and a video analysed as a job. Every change leaves its audit entry."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.api_support import CLIP_KEY, Server, api_server

pytestmark = pytest.mark.data

HELEN = ("2973812613.jpg", "2982058191.jpg")  # helen_300w: one face each
TWO_FACES = "134212.jpg"  # afw_300w


@pytest.fixture()
def server(tmp_path: Path, live_clip: Path) -> Iterator[Server]:
    with api_server(tmp_path, clip=live_clip) as s:
        yield s


def wait_job(server: Server, job: dict[str, Any], timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = server.client.get(f"/api/jobs/{job['id']}",
                                  headers=server.as_key("admin")).json()
        if state["state"] in ("done", "failed", "cancelled"):
            return dict(state)
        time.sleep(0.2)
    raise AssertionError(f"job {job['id']} still {state['state']} after {timeout} s")


def actions(server: Server) -> list[tuple[str, str]]:
    items = server.client.get("/api/audit?limit=500", headers=server.as_key("admin")).json()
    return [(e["action"], e["target"]) for e in reversed(items["items"])]


def test_clips_with_ranges_and_path_tricks(server: Server) -> None:
    h = server.as_key("operator")
    listed = server.client.get("/api/clips", headers=h).json()["items"]
    assert [(c["key"], c["camera"], c["reason"]) for c in listed] == [
        (CLIP_KEY, "door", "unknown_face")]
    meta = server.client.get(f"/api/clips/meta/{CLIP_KEY}", headers=h).json()
    assert server.clip_track in [t["track_id"] for t in meta["tracks"]]
    whole = server.client.get(f"/api/clips/video/{CLIP_KEY}", headers=h)
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
    size = len(whole.content)
    part = server.client.get(f"/api/clips/video/{CLIP_KEY}",
                             headers={**h, "Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == whole.content[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{size}"
    tail = server.client.get(f"/api/clips/video/{CLIP_KEY}", headers={**h, "Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == whole.content[-10:]
    for trick in ("../events.db", "door/20261130/../../events.db", "%2e%2e/events.db",
                  "/etc/passwd", "door/20261130/door-x-unknown_face"):
        # (a client may resolve the dots itself and reach another route: 405, still nothing)
        r = server.client.get(f"/api/clips/video/{trick}", headers=h)
        assert r.status_code in (400, 404, 405), (trick, r.status_code)
        assert r.json()["error"]
        gone = server.client.delete(f"/api/clips/{trick}", headers=h)
        assert gone.status_code in (400, 404, 405), (trick, gone.status_code)
    assert (server.folder / "events.db").is_file()
    assert server.client.delete(f"/api/clips/{CLIP_KEY}", headers=h).json() == {
        "deleted": CLIP_KEY}
    assert server.client.get("/api/clips", headers=h).json()["items"] == []
    assert ("clip_download", CLIP_KEY) in actions(server)
    assert ("clip_delete", CLIP_KEY) in actions(server)


def test_people_and_faces_from_photos(server: Server, data_dir: Path) -> None:
    helen = [data_dir / "helen_300w" / "images" / n for n in HELEN]
    group = data_dir / "afw_300w" / "images" / TWO_FACES
    op, admin = server.as_key("operator"), server.as_key("admin")

    def photo(path: Path, field: str = "photo") -> dict[str, Any]:
        return {field: (path.name, path.read_bytes(), "image/jpeg")}

    made = server.client.post("/api/people", data={"name": "Helen"}, files=photo(helen[0]),
                              headers=op)
    assert made.status_code == 201, made.text
    assert made.json()["new_person"] and made.json()["added"] == 1
    again = server.client.post("/api/people", data={"name": "Helen"}, files=photo(helen[0]),
                               headers=op)
    assert again.status_code == 409
    added = server.client.post("/api/people/Helen/examples", files=photo(helen[1]), headers=op)
    assert added.json()["embeddings"] == 2
    who = server.client.post("/api/faces/recognize", files=photo(helen[0], "image"), headers=op)
    assert [f["identity"]["name"] for f in who.json()["faces"]] == ["Helen"]
    found = server.client.post("/api/faces/detect", files=photo(group, "image"), headers=op)
    faces = found.json()["faces"]
    assert len(faces) == 2 and all(f["pose"]["yaw"] is not None for f in faces)
    assert "identity" not in faces[0]
    same = server.client.post("/api/faces/verify", headers=op, files={
        "image_a": (helen[0].name, helen[0].read_bytes()),
        "image_b": (helen[0].name, helen[0].read_bytes())}).json()
    assert same["same"] and same["similarity"] > 0.99
    not_image = server.client.post("/api/faces/detect", headers=op,
                                   files={"image": ("x.jpg", b"this is not an image")})
    assert not_image.status_code == 400 and "not a JPEG, PNG" in not_image.json()["error"]
    assert server.client.patch("/api/people/Helen", json={"name": "Helen B"},
                               headers=op).json()["name"] == "Helen B"
    page = server.client.get("/api/people/Helen B", headers=server.as_key("viewer")).json()
    assert [e["source"] for e in page["example_list"]] == list(HELEN)
    assert server.client.delete("/api/people/Helen B", headers=op).status_code == 403
    receipt = server.client.delete("/api/people/Helen B", headers=admin).json()
    assert receipt["person"] == "Helen B" and receipt["embeddings"] == 2  # erased everywhere
    assert server.client.get("/api/people", headers=op).json()["items"] == []
    slash = server.client.post("/api/people", data={"name": "AC/DC"}, files=photo(helen[1]),
                               headers=op)
    assert slash.status_code == 201
    assert server.client.get("/api/people/AC/DC", headers=op).json()["examples"] == 1
    assert server.client.post("/api/people/AC/DC/examples", files=photo(helen[0]),
                              headers=op).json()["embeddings"] == 2
    assert server.client.delete("/api/people/AC/DC", headers=admin).status_code == 200
    log = actions(server)
    for entry in [("person_enrol", "Helen"), ("face_search", "Helen"),
                  ("person_rename", "Helen B"),
                  ("person_forget", f"person:{receipt['person_id']}")]:
        assert entry in log, (entry, log)


def test_enrol_from_an_events_track(server: Server) -> None:
    op = server.as_key("operator")
    alert = server.client.get("/api/alerts", headers=op).json()["items"][0]
    job = server.client.post("/api/people/Zed/examples/from-event",
                             json={"event_id": alert["id"]}, headers=op)
    assert job.status_code == 202, job.text
    done = wait_job(server, job.json())
    assert done["state"] == "done", done
    assert done["result"]["name"] == "Zed" and done["result"]["added"] >= 1
    assert done["progress"] == 1.0
    people = server.client.get("/api/people", headers=op).json()["items"]
    assert [(p["name"], p["examples"]) for p in people] == [("Zed", done["result"]["added"])]
    started = server.client.get("/api/events?kind=track_started&camera=door",
                                headers=op).json()["items"][0]
    none = server.client.post("/api/people/Zed/examples/from-event",
                              json={"event_id": started["id"] + 1000}, headers=op)
    assert none.status_code == 404


def test_unknown_faces_are_grouped_and_named(server: Server) -> None:
    op = server.as_key("operator")
    job = server.client.post("/api/unknowns/scan", json={"since": "3000d"}, headers=op).json()
    assert wait_job(server, job)["state"] == "done"
    groups = server.client.get("/api/unknowns", headers=op).json()["items"]
    assert groups and groups[0]["crops"]
    crop = server.client.get(groups[0]["crops"][0], headers=op)
    assert crop.status_code == 200 and crop.content[:2] == b"\xff\xd8"
    stale = server.client.post(f"/api/unknowns/{groups[0]['group']}/name",
                               json={"name": "Visitor 1", "scan": "old"}, headers=op)
    assert stale.status_code == 409
    named = server.client.post(f"/api/unknowns/{groups[0]['group']}/name",
                               json={"name": "Visitor 1", "scan": groups[0]["scan"]},
                               headers=op).json()
    assert named["added"] >= 1
    left = server.client.get("/api/unknowns", headers=op).json()["items"]
    assert groups[0]["group"] not in [g["group"] for g in left]


def test_a_video_analysed_as_a_job(server: Server, live_clip: Path) -> None:
    op = server.as_key("operator")
    refused = server.client.post("/api/jobs/analyze", headers=op,
                                 files={"video": ("notes.txt", b"hello")})
    assert refused.status_code == 400 and "upload a video" in refused.json()["error"]
    job = server.client.post("/api/jobs/analyze?analytics=true", headers=op,
                             files={"video": ("cam.mp4", live_clip.read_bytes())})
    assert job.status_code == 202
    done = wait_job(server, job.json())
    assert done["state"] == "done", done
    assert {"tracks.csv", "faces.jsonl", "audience.csv", "report.html"} <= set(
        done["result"]["files"])
    got = server.client.get(f"/api/jobs/{done['id']}/files/tracks.csv", headers=op)
    assert got.status_code == 200 and got.text.startswith("track_id")
    other = server.client.get(f"/api/jobs/{done['id']}", headers=server.as_key("viewer"))
    assert other.status_code == 403
    assert server.client.get(f"/api/jobs/{done['id']}/files/..%2Fx",
                             headers=op).status_code == 404
