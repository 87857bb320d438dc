"""Accounts, keys, sessions, the audit log and camera states, on SQLite and a real PostgreSQL:
the same behaviour on both, and an audit log the database itself keeps append-only."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from facetrack.errors import InputError
from facetrack.storage.accounts import AccountStore
from facetrack.storage.cameras import CameraStatusStore

PASSWORD = "a-long-password"


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return str(tmp_path / "ev.db")


def _engine(target: str) -> sa.Engine:
    if "://" in target:
        return sa.create_engine(target.replace("postgresql://", "postgresql+psycopg://"))
    return sa.create_engine(f"sqlite:///{target}")


def test_users_sessions_and_keys(target: str) -> None:
    with AccountStore(target) as accounts:
        assert accounts.count_users() == 0
        alice = accounts.add_user("alice", "admin", PASSWORD)
        with pytest.raises(InputError, match="already exists"):
            accounts.add_user("alice", "viewer", PASSWORD)
        with pytest.raises(InputError, match="user name"):
            accounts.add_user("a b", "viewer", PASSWORD)
        assert accounts.authenticate("alice", PASSWORD) == alice
        assert accounts.authenticate("alice", "wrong-password") is None
        assert accounts.authenticate("nobody", PASSWORD) is None
        session = accounts.open_session(alice, hours=1)
        assert accounts.session(session.token) == (alice, session.csrf)
        assert accounts.session("forged") is None
        accounts.update_user("alice", password="another-password")
        assert accounts.session(session.token) is None  # a new password ends sessions
        again = accounts.open_session(alice, hours=1)
        accounts.update_user("alice", disabled=True)
        assert accounts.session(again.token) is None
        assert accounts.authenticate("alice", "another-password") is None
        secret, key = accounts.add_key("grafana", "viewer", "alice")
        assert accounts.key(secret) == key and accounts.key(secret + "x") is None
        assert [k.name for k in accounts.api_keys()] == ["grafana"]
        accounts.remove_key(key.id)
        assert accounts.key(secret) is None
        with pytest.raises(LookupError):
            accounts.remove_key(key.id)


def test_sessions_expire(target: str) -> None:
    with AccountStore(target) as accounts:
        user = accounts.add_user("bob", "viewer", PASSWORD)
        session = accounts.open_session(user, hours=1 / 3600 / 4)  # a quarter of a second
        time.sleep(0.4)
        assert accounts.session(session.token) is None


def test_the_audit_log_is_append_only_in_the_database(target: str) -> None:
    with AccountStore(target) as accounts:
        accounts.audit("alice", "person_enrol", "Ada", detail={"added": 2}, address="10.0.0.1")
        accounts.audit("key:ci", "clip_download", "door/x")
        log = accounts.audit_log(since="1h")
        assert [(e["actor"], e["action"], e["detail"]) for e in log] == [
            ("key:ci", "clip_download", {}), ("alice", "person_enrol", {"added": 2})]
        assert accounts.audit_log(actor="alice")[0]["address"] == "10.0.0.1"
    engine = _engine(target)
    try:
        statements = ["UPDATE audit SET actor = 'mallory'", "DELETE FROM audit"]
        if "://" in target:
            statements.append("TRUNCATE audit")
        for statement in statements:
            with engine.connect() as conn, pytest.raises(sa.exc.DBAPIError,
                                                         match="append-only"):
                conn.execute(sa.text(statement))
    finally:
        engine.dispose()
    with AccountStore(target, read_only=True) as accounts:  # reopened: still two entries
        assert len(accounts.audit_log()) == 2


def test_cameras_of_two_monitors_in_one_store(target: str) -> None:
    def row(camera: str, monitor: str, age_s: float) -> dict[str, object]:
        when = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() - age_s))
        return {"camera": camera, "monitor": monitor, "state": "online", "fps_in": 10.0,
                "fps_out": 10.0, "frames_in": 1, "processed": 1, "dropped": 0,
                "reconnects": 0, "events": 0, "alerts": 0, "last_frame": when,
                "updated": when}

    with CameraStatusStore(target) as a, CameraStatusStore(target) as b:
        a.report([row("door", "host-a:1", 1)])
        b.report([row("yard", "host-b:2", 1), row("gate", "host-b:2", 60)])
        a.report([row("door", "host-a:1", 0)])  # replaced, not added
        states = {r["camera"]: (r["monitor"], r["online"]) for r in b.states()}
    assert states == {"door": ("host-a:1", True), "gate": ("host-b:2", False),
                      "yard": ("host-b:2", True)}


def test_a_key_lives_only_as_long_as_its_maker(target: str) -> None:
    with AccountStore(target) as accounts:
        boss = accounts.add_user("boss", "admin", PASSWORD)
        viewer = accounts.add_user("val", "viewer", PASSWORD)
        with pytest.raises(InputError, match="more rights"):
            accounts.add_key("too-much", "admin", "val", owner=viewer)
        secret, key = accounts.add_key("deploy", "admin", "boss", owner=boss)
        with pytest.raises(InputError, match="exists already"):
            accounts.add_key("deploy", "viewer", "boss", owner=boss)
        cli_secret, _ = accounts.add_key("cron", "viewer", "cli:root")
        assert accounts.key(secret) == key
        accounts.update_user("boss", disabled=True)
        assert accounts.key(secret) is None
        accounts.update_user("boss", disabled=False)
        assert accounts.key(secret) == key
        accounts.remove_user("boss")
        assert accounts.key(secret) is None
        assert [k.name for k in accounts.api_keys()] == ["cron"]
        assert accounts.key(cli_secret) is not None
