"""The API end to end, in process (FastAPI's TestClient over the real app and real stores):
every route without authentication and with each role, CSRF, login limits, bad input, clips
with range requests, the audit log, and faces on real photos."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.api_support import PASSWORD, Server, api_server

#: the least role each route needs (None: public); a new route must be added here
ROLE_OF: dict[tuple[str, str], str | None] = {
    ("GET", "/api/health"): None,
    ("POST", "/api/auth/login"): None,
    ("POST", "/api/auth/logout"): "viewer",
    ("GET", "/api/auth/me"): "viewer",
    ("GET", "/api/metrics"): "viewer",
    ("GET", "/api/settings"): "admin",
    ("GET", "/api/users"): "admin",
    ("POST", "/api/users"): "admin",
    ("PATCH", "/api/users/{name}"): "admin",
    ("DELETE", "/api/users/{name}"): "admin",
    ("GET", "/api/keys"): "admin",
    ("POST", "/api/keys"): "admin",
    ("DELETE", "/api/keys/{key_id}"): "admin",
    ("GET", "/api/audit"): "admin",
    ("GET", "/api/cameras"): "viewer",
    ("GET", "/api/cameras/{camera}/snapshot.jpg"): "viewer",
    ("GET", "/api/cameras/{camera}/stream.mjpg"): "viewer",
    ("GET", "/api/events"): "viewer",
    ("GET", "/api/events/{event_id}"): "viewer",
    ("GET", "/api/alerts"): "viewer",
    ("GET", "/api/tracks"): "viewer",
    ("GET", "/api/clips"): "operator",
    ("GET", "/api/clips/meta/{key}"): "operator",
    ("GET", "/api/clips/video/{key}"): "operator",
    ("DELETE", "/api/clips/{key}"): "operator",
    ("GET", "/api/people"): "viewer",
    ("GET", "/api/people/{name}"): "viewer",
    ("POST", "/api/people"): "operator",
    ("POST", "/api/people/{name}/examples"): "operator",
    ("PATCH", "/api/people/{name}"): "operator",
    ("DELETE", "/api/people/{name}"): "admin",
    ("POST", "/api/people/{name}/examples/from-clip"): "operator",
    ("POST", "/api/people/{name}/examples/from-event"): "operator",
    ("POST", "/api/unknowns/scan"): "operator",
    ("GET", "/api/unknowns"): "operator",
    ("GET", "/api/unknowns/{number}/crops/{index}.jpg"): "operator",
    ("POST", "/api/unknowns/{number}/name"): "operator",
    ("POST", "/api/faces/detect"): "operator",
    ("POST", "/api/faces/recognize"): "operator",
    ("POST", "/api/faces/verify"): "operator",
    ("GET", "/api/audience/windows"): "viewer",
    ("GET", "/api/audience/summary"): "viewer",
    ("GET", "/api/audience/heatmap/{camera}/{name}.png"): "viewer",
    ("GET", "/api/jobs"): "operator",
    ("GET", "/api/jobs/{job_id}"): "operator",
    ("DELETE", "/api/jobs/{job_id}"): "operator",
    ("POST", "/api/jobs/analyze"): "operator",
    ("GET", "/api/jobs/{job_id}/files/{name}"): "operator",
}
RANK = {"viewer": 0, "operator": 1, "admin": 2}
#: values for path parameters: ids that do not exist, so nothing is changed
SAMPLE = {"name": "nobody-here", "key_id": "987654", "camera": "nocam", "event_id": "987654",
          "key": "nocam/20260101/nocam-20260101T000000000000-alert", "number": "987",
          "index": "0", "job_id": "no-such-job"}


def _path(template: str) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: SAMPLE[m.group(1)], template)


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[Server]:
    with api_server(tmp_path) as s:
        yield s


def routes(server: Server) -> list[tuple[str, str]]:
    """Every documented route, from the app's own OpenAPI schema."""
    paths = server.client.get("/api/openapi.json").json()["paths"]
    return [(m.upper(), p) for p, ops in paths.items() for m in ops]


def test_every_route_is_in_the_role_table(server: Server) -> None:
    assert sorted(routes(server)) == sorted(ROLE_OF)


def call(server: Server, method: str, path: str, headers: dict[str, str]) -> Any:
    kwargs: dict[str, Any] = {"headers": headers}
    if method in ("POST", "PATCH"):
        kwargs["json"] = {}
    return server.client.request(method, path, **kwargs)


def test_every_route_without_authentication(server: Server) -> None:
    for (method, template), role in ROLE_OF.items():
        r = call(server, method, _path(template), {})
        if role is None:
            assert r.status_code not in (401, 403), (method, template, r.status_code)
        else:
            assert r.status_code == 401, (method, template, r.status_code, r.text)
            assert r.json() == {"error": "log in first (or send an API key)"}
        assert r.status_code < 500, (method, template, r.text)


@pytest.mark.parametrize("role", ["viewer", "operator", "admin"])
def test_every_route_with_each_role(server: Server, role: str) -> None:
    for (method, template), needed in ROLE_OF.items():
        if (method, template) == ("POST", "/api/auth/logout"):
            continue
        r = call(server, method, _path(template), server.as_key(role))
        assert r.status_code < 500, (role, method, template, r.text)
        if needed is not None and RANK[role] < RANK[needed]:
            assert r.status_code == 403, (role, method, template, r.status_code)
            assert f"needs the {needed} role" in r.json()["error"]
        else:
            assert r.status_code not in (401, 403), (role, method, template, r.text)


def test_metrics_at_the_prometheus_path(server: Server) -> None:
    assert server.client.get("/metrics").status_code == 401
    r = server.client.get("/metrics", headers=server.as_key("viewer"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")


def test_a_wrong_key_is_refused(server: Server) -> None:
    for key in ("ftk_nope", "nope", server.keys["admin"] + "x"):
        r = server.client.get("/api/events", headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 401


def test_session_cookie_and_csrf(server: Server) -> None:
    r = server.client.post("/api/auth/login", json={"name": "admin", "password": PASSWORD})
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    csrf = {"X-CSRF-Token": r.json()["csrf"]}
    assert server.client.get("/api/auth/me").json()["name"] == "admin"
    body = {"name": "carol", "role": "viewer", "password": "0123456789ab"}
    refused = server.client.post("/api/users", json=body)
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.json()["error"]
    wrong = server.client.post("/api/users", json=body, headers={"X-CSRF-Token": "forged"})
    assert wrong.status_code == 403
    assert server.client.post("/api/users", json=body, headers=csrf).status_code == 201
    assert server.client.post("/api/auth/logout", headers=csrf).status_code == 200
    assert server.client.get("/api/auth/me").status_code == 401


def test_logins_are_rate_limited(server: Server) -> None:
    for _ in range(5):
        r = server.client.post("/api/auth/login", json={"name": "admin", "password": "wrong!"})
        assert r.status_code == 401 and r.json()["error"] == "wrong name or password"
    r = server.client.post("/api/auth/login", json={"name": "admin", "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    unknown = server.client.post("/api/auth/login", json={"name": "ghost", "password": "x"})
    assert unknown.status_code == 429  # the address is limited too


def test_a_password_change_ends_sessions(server: Server) -> None:
    server.login("viewer")
    admin = server.as_key("admin")
    r = server.client.patch("/api/users/viewer", json={"password": "a-new-password"},
                            headers=admin)
    assert r.status_code == 200
    assert server.client.get("/api/auth/me").status_code == 401
    assert server.client.patch("/api/users/admin", json={"disabled": True},
                               headers=admin).status_code == 200  # a key may disable admin
    assert server.client.post("/api/auth/login", json={"name": "admin", "password": PASSWORD}
                              ).status_code == 401


def test_events_filters_and_pages(server: Server) -> None:
    h = server.as_key("viewer")
    everything = server.client.get("/api/events", headers=h).json()
    assert [e["kind"] for e in everything["items"]] == [
        "identity_matched", "track_started", "track_ended", "alert", "track_started"]
    assert everything["next"] is None
    first = server.client.get("/api/events?limit=2", headers=h).json()
    rest = server.client.get(f"/api/events?before={first['next']}", headers=h).json()
    assert [e["id"] for e in first["items"] + rest["items"]] == [
        e["id"] for e in everything["items"]]
    door = server.client.get("/api/events?camera=door&kind=alert&kind=track_ended",
                             headers=h).json()["items"]
    assert [e["kind"] for e in door] == ["track_ended", "alert"]
    window = server.client.get("/api/events?since=2026-11-30T10:15:00&until=2026-11-30T10:16",
                               headers=h).json()["items"]
    assert [e["kind"] for e in window] == ["track_ended", "alert"]
    assert server.client.get("/api/alerts", headers=h).json()["items"][0]["reason"] == \
        "unknown_face"
    assert server.client.get("/api/tracks", headers=h).json()["items"][0]["duration_s"] == 5.0
    one = server.client.get(f"/api/events/{door[0]['id']}", headers=h).json()
    assert one == door[0]


@pytest.mark.parametrize(("query", "needle"), [
    ("kind=nothing", "unknown event type 'nothing'"),
    ("limit=100000", "query.limit"),
    ("since=yesterday", "--since 'yesterday'"),
    ("before=-1", "query.before"),
])
def test_bad_filters_are_one_line_errors(server: Server, query: str, needle: str) -> None:
    r = server.client.get(f"/api/events?{query}", headers=server.as_key("viewer"))
    assert r.status_code in (400, 422), r.text
    assert needle in r.json()["error"] and "\n" not in r.json()["error"]


def test_malformed_json_and_unknown_ids(server: Server) -> None:
    h = {**server.as_key("admin"), "content-type": "application/json"}
    r = server.client.post("/api/users", content=b'{"name": "x", ', headers=h)
    assert r.status_code == 422 and "JSON" in r.json()["error"]
    assert server.client.get("/api/events/424242", headers=h).status_code == 404
    assert server.client.delete("/api/users/ghost", headers=h).json() == {
        "error": "no user 'ghost'"}
    assert server.client.get("/api/jobs/x-1", headers=h).status_code == 404


def test_audience_windows_and_summary(server: Server) -> None:
    h = server.as_key("viewer")
    rows = server.client.get("/api/audience/windows?since=2026-11-01", headers=h).json()
    assert rows["items"][0]["ots"] == 3
    s = server.client.get("/api/audience/summary?since=2026-11-01", headers=h).json()
    assert s["totals"] == {"ots": 3, "watchers": 2, "attention_s": 9.0}
    assert s["dwell_histogram"]["dwell_5_15"] == 2
    assert server.client.get("/api/audience/heatmap/door/occupancy.png",
                             headers=h).status_code == 404


def test_cameras_of_other_monitors(server: Server) -> None:
    server.services.cameras.report([{
        "camera": "lobby", "monitor": "host-b:42", "state": "online", "fps_in": 10.0,
        "fps_out": 9.5, "frames_in": 100, "processed": 95, "dropped": 5, "reconnects": 0,
        "events": 3, "alerts": 1, "last_frame": "2026-11-30T10:00:00+00:00",
        "updated": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())}])
    items = server.client.get("/api/cameras", headers=server.as_key("viewer")).json()["items"]
    assert [(c["camera"], c["online"], c["dropped"]) for c in items] == [("lobby", True, 5)]
    r = server.client.get("/api/cameras/lobby/snapshot.jpg", headers=server.as_key("viewer"))
    assert r.status_code == 404 and "another process" in r.json()["error"]


def test_body_size_limit(tmp_path: Path) -> None:
    with api_server(tmp_path, max_upload_mb=1) as server:
        big = b"\xff" * (2 * 2**20)
        r = server.client.post("/api/faces/detect", files={"image": ("big.jpg", big)},
                               headers=server.as_key("operator"))
        assert r.status_code == 413 and "1 MB limit" in r.json()["error"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams in
            for _ in range(40):
                yield b"\xff" * 65536

        streamed = server.client.post("/api/jobs/analyze", content=chunks(), headers={
            **server.as_key("operator"), "content-type": "multipart/form-data; boundary=x"})
        assert streamed.status_code == 413, streamed.text
        assert not list((tmp_path / "clips").rglob("*.jpg"))
        assert not (tmp_path / "jobs").exists() or not any((tmp_path / "jobs").iterdir())


def test_clip_pages_skip_nothing(server: Server) -> None:
    root = server.folder / "clips"
    keys = [f"{cam}/20261130/{cam}-20261130T101500123{n:03d}-alert" for cam in ("a", "b")
            for n in (1, 2, 3)]  # six clips within one millisecond
    for key in keys:
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / f"{key}.mp4").write_bytes(b"\0" * 10)
        (root / f"{key}.json").write_text("{}")
    seen, cursor = [], None
    for _ in range(10):
        page = server.client.get("/api/clips", params={"limit": 2, "before": cursor},
                                 headers=server.as_key("operator")).json()
        seen += [c["key"] for c in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(keys) and len(seen) == len(keys)


def test_settings_mask_secrets(tmp_path: Path) -> None:
    with api_server(tmp_path) as server:
        data = server.client.get("/api/settings", headers=server.as_key("admin")).json()
        assert data["store"]["events_db"].endswith("events.db")
        assert data["api"]["max_upload_mb"] == 25.0


def test_the_audit_log_is_append_only(server: Server) -> None:
    import sqlalchemy as sa

    server.client.post("/api/keys", json={"name": "ci", "role": "viewer"},
                       headers=server.as_key("admin"))
    log = server.client.get("/api/audit?action=key_add", headers=server.as_key("admin")).json()
    assert [(e["actor"], e["target"]) for e in log["items"]] == [("key:admin-key", "ci")]
    engine = sa.create_engine(f"sqlite:///{server.folder / 'events.db'}")
    with engine.connect() as conn:
        for statement in ("UPDATE audit SET actor = 'x'", "DELETE FROM audit"):
            with pytest.raises(sa.exc.DatabaseError, match="append-only"):
                conn.execute(sa.text(statement))
    engine.dispose()
