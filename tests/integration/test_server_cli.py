"""`facetrack users`, `keys`, `audit` and `serve` as a person runs them: real processes, one-line
errors, the first-account rule off loopback, TLS with Secure cookies, a clean stop on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.integration.servers import free_port, wait_port

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def run(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "facetrack", *args], cwd=cwd, input=stdin,
                          env=ENV, capture_output=True, text=True, timeout=120)


def ok(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def one_line_error(done: subprocess.CompletedProcess[str], code: int, needle: str) -> None:
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], lines
    assert "Traceback" not in done.stderr


def test_users_keys_and_the_audit_log(tmp_path: Path) -> None:
    added = ok(run("users", "add", "alice", "--role", "admin", "--password-stdin", cwd=tmp_path,
                   stdin="a-long-password\n"))
    assert (added["name"], added["role"]) == ("alice", "admin")
    assert oct((tmp_path / "events.db").stat().st_mode & 0o777) == "0o600"
    one_line_error(run("users", "add", "alice", "--role", "viewer", "--password-stdin",
                       cwd=tmp_path, stdin="another-password\n"), 2, "already exists")
    one_line_error(run("users", "add", "bob", "--role", "viewer", "--password-stdin",
                       cwd=tmp_path, stdin="short\n"), 2, "at least 10 characters")
    one_line_error(run("users", "add", "bob", "--role", "root", "--password-stdin",
                       cwd=tmp_path, stdin="a-long-password\n"), 2, "one of viewer")
    one_line_error(run("users", "add", "bob", "--role", "viewer", cwd=tmp_path, stdin=""), 2,
                   "--password-stdin")
    assert ok(run("users", "role", "alice", "operator", cwd=tmp_path))["role"] == "operator"
    key = ok(run("keys", "add", "grafana", "--role", "viewer", cwd=tmp_path))
    assert key["key"].startswith("ftk_") and key["hint"] == key["key"][:10]
    listed = ok(run("keys", "list", cwd=tmp_path))
    assert "key" not in listed[0] and listed[0]["name"] == "grafana"
    assert ok(run("keys", "remove", str(key["id"]), cwd=tmp_path)) == {"removed": key["id"]}
    one_line_error(run("keys", "remove", "77", cwd=tmp_path), 1, "no API key 77")
    log = [json.loads(line) for line in run("audit", "--since", "1h", cwd=tmp_path
                                            ).stdout.splitlines()]
    assert [e["action"] for e in log] == ["user_add", "user_change", "key_add", "key_remove"]
    assert all(e["actor"].startswith("cli") for e in log)
    one_line_error(run("audit", "--store", str(tmp_path / "none.db"), cwd=tmp_path), 2,
                   "no store here")


def test_no_account_no_server_off_loopback(tmp_path: Path) -> None:
    done = run("serve", "--host", "0.0.0.0", "--port", str(free_port()), cwd=tmp_path)
    one_line_error(done, 2, "no account yet")


def _self_signed(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "server.crt", folder / "server.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def test_serve_over_tls_and_stop_on_sigterm(tmp_path: Path) -> None:
    ok(run("users", "add", "alice", "--role", "admin", "--password-stdin", cwd=tmp_path,
           stdin="a-long-password\n"))
    cert, key = _self_signed(tmp_path)
    port = free_port()
    (tmp_path / "server.yaml").write_text(
        f"api: {{port: {port}, tls: {{cert: {cert}, key: {key}}}}}\n", encoding="utf-8")
    server = subprocess.Popen([sys.executable, "-m", "facetrack", "serve", "--config",
                               "server.yaml"], cwd=tmp_path, env=ENV, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        wait_port(port, 30)
        # below other programs by api.niceness (10): field 19 of /proc/PID/stat
        stat = Path(f"/proc/{server.pid}/stat")
        if stat.is_file():
            nice = int(stat.read_text().rsplit(")", 1)[1].split()[16])
            assert nice == min(19, os.getpriority(os.PRIO_PROCESS, 0) + 10)
        context = ssl.create_default_context(cafile=str(cert))
        base = f"https://127.0.0.1:{port}"
        with urllib.request.urlopen(f"{base}/api/health", context=context, timeout=10) as r:
            assert json.loads(r.read())["status"] == "ok"
        login = urllib.request.Request(
            f"{base}/api/auth/login", method="POST", headers={"content-type":
                                                               "application/json"},
            data=json.dumps({"name": "alice", "password": "a-long-password"}).encode())
        with urllib.request.urlopen(login, context=context, timeout=10) as r:
            cookie = r.headers["set-cookie"].lower()
        assert "secure" in cookie and "httponly" in cookie and "samesite=strict" in cookie
        with pytest.raises(OSError):  # plain HTTP is not served there (URLError, reset)
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=5)
    finally:
        server.send_signal(signal.SIGTERM)
        _out, err = server.communicate(timeout=30)
    assert server.returncode == 0, err
    assert f"https://127.0.0.1:{port}/" in err and "Traceback" not in err
