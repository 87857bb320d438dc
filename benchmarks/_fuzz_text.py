"""Hostile YAML configs, face-database exports and stream servers for the fuzz runs: seeds taken
from the documentation's own config examples and from a real ``FaceDatabase.export``, then
damaged by a seeded mutator. Every input is made from ``(seed, index)`` alone."""

from __future__ import annotations

import base64
import json
import random
import re
import socket
import struct
import threading
from pathlib import Path
from typing import Any

from benchmarks._fuzz_media import FuzzInput, mutate_bytes, set_size

REPO = Path(__file__).resolve().parents[1]

#: ``!!python/object`` tags that would run code if the loader were unsafe: each touches this file
MARKER = "EXECUTED"


# -- YAML ------------------------------------------------------------------------------------------

def yaml_seeds() -> list[str]:
    """Every ```` ```yaml ```` example of the documentation (track and monitor configs)."""
    seeds = []
    for doc in sorted((REPO / "docs").glob("*.md")):
        seeds += re.findall(r"```yaml\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)
    return seeds or ["detector:\n  kind: yunet\n"]


_ODD_VALUES = ["-1", "1e309", ".nan", "-.inf", "''", "[]", "{}", "~", "9" * 5000, "x" * 70000,
               "0x7fffffffffffffff", "!!binary aGVsbG8=", "!!set {a, b}", "2001-12-14t21:59:43Z",
               "\"\\u202e\\x1b[31m\"", "!!float nan", "[[[[[[[[]]]]]]]]", "&x 1", "*undefined",
               "!custom 3", "<<: {a: 1}", "yes", "on", "\"\\0\""]


def _python_tag(rng: random.Random, folder_hint: str) -> str:
    return rng.choice([
        f"!!python/object/apply:os.system ['touch {folder_hint}/{MARKER}']",
        f"!!python/object/apply:builtins.open ['{folder_hint}/{MARKER}', 'w']",
        "!!python/name:os.system",
        "!!python/object/new:subprocess.Popen [['true']]",
    ])


def laughs(levels: int, width: int = 10, key: str = "tracking") -> str:
    """The billion-laughs anchor bomb: ``width**levels`` strings in a few hundred bytes."""
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    return "bomb:\n" + "\n".join("  " + ln for ln in lines) + f"\n{key}: *l{levels - 1}\n"


def _yaml_structural(rng: random.Random, folder: str) -> tuple[str, bytes]:
    """One hand-made hostile document."""
    kind = rng.choice(["laughs", "tag", "deep", "huge", "utf", "dupkey", "flowdeep", "merge",
                       "multidoc", "random"])
    if kind == "laughs":
        text = laughs(rng.randint(5, 9), key=rng.choice(["tracking", "cameras", "analytics",
                                                          "server", "bomb2"]))
    elif kind == "tag":
        text = f"{rng.choice(['tracking', 'detector', 'cameras'])}: {_python_tag(rng, folder)}\n"
    elif kind == "deep":
        depth = rng.choice([33, 100, 5000])
        text = "".join("  " * i + f"k{i}:\n" for i in range(depth)) + "  " * depth + "v\n"
    elif kind == "flowdeep":
        depth = rng.choice([40, 1000, 100_000])
        text = "analytics: " + "[" * depth + "]" * depth + "\n"
    elif kind == "huge":
        text = "# " + "x" * rng.choice([(1 << 20) + 1, 3 << 20]) + "\n"
    elif kind == "utf":
        return kind, b"detector:\n  kind: yunet\xff\xfe\x80 \xc3\x28\n"
    elif kind == "dupkey":
        text = "tracking:\n  credence_count: 3\n  credence_count: 4\n"
    elif kind == "merge":
        text = "base: &b {credence_count: 3}\ntracking:\n  <<: [*b, *b]\n  <<: *b\n"
    elif kind == "multidoc":
        text = "tracking: {}\n---\ncameras: []\n...\n"
    else:
        return kind, rng.randbytes(rng.choice((16, 512, 4096)))
    return kind, text.encode("utf-8")


def yaml_input(seeds: list[str], index: int, rng: random.Random, folder: str) -> FuzzInput:
    """Input ``index``: a hand-made hostile document (1 in 3), a documented example with
    values swapped for odd ones, or one damaged byte by byte."""
    roll = rng.random()
    if roll < 0.33:
        kind, data = _yaml_structural(rng, folder)
        return FuzzInput(f"yaml {kind}", {"config.yaml": data}, "config.yaml")
    seed = rng.choice(seeds)
    if roll < 0.75:
        lines = seed.splitlines()
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(lines))
            key, sep, _value = lines[at].partition(":")
            odd = rng.choice([*_ODD_VALUES, _python_tag(rng, folder)])
            lines[at] = f"{key}: {odd}" if sep else rng.choice(["  - " + odd, lines[at] * 2,
                                                              "\t" + lines[at], ""])
        return FuzzInput("yaml example, odd values", {"config.yaml": "\n".join(lines).encode()},
                         "config.yaml")
    data = mutate_bytes(seed.encode("utf-8"), rng)
    return FuzzInput("yaml example damaged", {"config.yaml": data}, "config.yaml")


# -- face-database exports ---------------------------------------------------------------------

#: a fixed key for the encrypted seed: the fuzz only needs it to be the same every run
FUZZ_KEY = base64.b64encode(bytes(range(32))).decode("ascii")


def export_seeds(folder: Path) -> dict[str, bytes]:
    """Exports written by ``FaceDatabase.export``: 3 people, 2 vectors each, plain and
    encrypted (``FUZZ_KEY``)."""
    import numpy as np

    from facetrack.privacy.keys import parse_key
    from facetrack.recognition.gallery import FaceDatabase

    gen = np.random.default_rng(0)
    seeds = {}
    for name, key in (("plain", None), ("encrypted", parse_key(FUZZ_KEY, "fuzz key"))):
        with FaceDatabase(folder / f"{name}.db", key=key) as db:
            for person in ("Ada", "Zoë Ōkubo", "O'Brien; DROP TABLE people"):
                db.enroll(person, gen.normal(size=(2, 128)), "sface-fuzz")
            db.export(folder / f"{name}.jsonl")
        seeds[name] = (folder / f"{name}.jsonl").read_bytes()
    return seeds


def _odd_json(rng: random.Random) -> Any:
    return rng.choice([None, -1, 0, 2**64, 1e308, "", "x" * 100_000, [], {}, [1] * 10_000,
                       {"a": [{"b": []}]}, "\u202e\x1b[31m", True, "NaN", float("nan"),
                       base64.b64encode(struct.pack("<128f", *[float("nan")] * 128)).decode(),
                       base64.b64encode(bytes(512)).decode(), "@@not base64@@",
                       json.loads("[" * 900 + "]" * 900)])


def _mutate_record(rec: Any, rng: random.Random) -> Any:
    if isinstance(rec, dict) and rec:
        key = rng.choice(sorted(rec))
        if rng.random() < 0.2:
            del rec[key]
        elif isinstance(rec[key], (dict, list)) and rng.random() < 0.6:
            rec[key] = _mutate_record(rec[key], rng)
        else:
            rec[key] = _odd_json(rng)
        return rec
    if isinstance(rec, list) and rec:
        at = rng.randrange(len(rec))
        if rng.random() < 0.3:
            return rec * rng.choice((2, 1000))
        rec[at] = _mutate_record(rec[at], rng)
        return rec
    return _odd_json(rng)


def export_input(seeds: dict[str, bytes], index: int, rng: random.Random) -> FuzzInput:
    """Input ``index``: the plain export with JSON values swapped for odd ones (NaN vectors,
    huge arrays, wrong versions and types), lines dropped or repeated; or either export
    damaged byte by byte. ``extra["key"]``: import with the fuzz key."""
    kind = rng.choice(["plain", "plain", "encrypted"])
    keyed = kind == "encrypted" if rng.random() < 0.9 else kind != "encrypted"
    if kind == "plain" and rng.random() < 0.7:
        lines = [json.loads(ln) for ln in seeds["plain"].decode().splitlines()]
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(lines))
            roll = rng.random()
            if roll < 0.15:
                lines.insert(at, lines[at])
            elif roll < 0.25 and len(lines) > 1:
                del lines[at]
            else:
                lines[at] = _mutate_record(lines[at], rng)
        text = "".join(json.dumps(ln, ensure_ascii=rng.random() < 0.5) + "\n" for ln in lines)
        return FuzzInput("export, odd JSON values", {"export.jsonl": text.encode()},
                         "export.jsonl", {"key": keyed})
    data = mutate_bytes(seeds[kind], rng)
    return FuzzInput(f"{kind} export damaged", {"export.jsonl": data}, "export.jsonl",
                     {"key": keyed})


# -- streams -----------------------------------------------------------------------------------

STREAM_BEHAVIOURS = ["random", "http-garbage", "mjpeg-damaged", "mjpeg-huge", "rtsp-garbage",
                     "drip", "silent", "http-huge-length"]


def stream_reply(behaviour: str, jpeg: bytes, rng: random.Random) -> list[bytes]:
    """What the server sends a client, in pieces, for one behaviour."""
    if behaviour == "random":
        return [rng.randbytes(rng.choice((1, 100, 65_536)))]
    if behaviour == "http-garbage":
        return [b"HTTP/1.1 200 OK\r\n" + rng.randbytes(2000) + b"\r\n\r\n" + rng.randbytes(2000)]
    if behaviour in ("mjpeg-damaged", "mjpeg-huge"):
        head = (b"HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=frame"
                b"\r\n\r\n")
        parts = [head]
        for i in range(rng.randint(1, 6)):
            frame = jpeg if i == 0 else (
                set_size(jpeg, 16_000, 16_000) if behaviour == "mjpeg-huge"
                else mutate_bytes(jpeg, rng))
            parts.append(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: "
                         + str(len(frame)).encode() + b"\r\n\r\n" + frame + b"\r\n")
        return parts
    if behaviour == "rtsp-garbage":
        return [b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Base: rtsp://x/\r\nContent-Type: "
                b"application/sdp\r\nContent-Length: 300\r\n\r\nv=0\r\nm=video 0 RTP/AVP 96\r\n"
                + rng.randbytes(300)]
    if behaviour == "drip":
        return [bytes([b]) for b in b"HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\n"]
    if behaviour == "http-huge-length":
        return [b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n"
                + rng.randbytes(1000)]
    return []  # silent


class GarbageServer:
    """A local TCP server answering every connection with ``stream_reply`` (a thread)."""

    def __init__(self, behaviour: str, jpeg: bytes, seed: int) -> None:
        self.behaviour, self.jpeg, self.seed = behaviour, jpeg, seed
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.stop = threading.Event()
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        scheme = "rtsp" if self.behaviour in ("rtsp-garbage", "random", "silent") else "http"
        return f"{scheme}://127.0.0.1:{self.port}/stream"

    def _serve(self) -> None:
        rng = random.Random(self.seed)
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue
            self.held.append(conn)
            try:
                conn.settimeout(0.5)
                for piece in stream_reply(self.behaviour, self.jpeg, rng):
                    if self.stop.is_set():
                        break
                    conn.sendall(piece)
                    if self.behaviour == "drip":
                        self.stop.wait(0.05)
                if self.behaviour != "silent":
                    conn.shutdown(socket.SHUT_WR)
            except OSError:
                continue

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2)
        for conn in self.held:
            conn.close()
        self.listener.close()


def stream_input(index: int, rng: random.Random) -> FuzzInput:
    behaviour = STREAM_BEHAVIOURS[index % len(STREAM_BEHAVIOURS)]
    return FuzzInput(f"stream {behaviour}", {}, "", {"behaviour": behaviour,
                                                      "seed": rng.randrange(2**31)})
