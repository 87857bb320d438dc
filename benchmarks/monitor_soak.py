"""Soak: cameras streaming synth_tracks clips over RTSP in a loop for a bounded time, each
camera killed and restarted every ``--kill-every`` seconds, into one ``Monitor``, with live-view
viewers connecting and leaving all along.

    python -m benchmarks.monitor_soak [--cameras 4] [--minutes 10] [--kill-every 60]
                                      [--down 3] [--fps-cap 10] [--width 1280] [--viewers 4]

Real parts: per camera an RTSP server (tests/rtsp, npm) fed by Debian ffmpeg (a short-GOP,
``--width`` copy of a synth_tracks clip, looped at its native 25 fps). The monitor runs every
stage (detect, track, analyse) at ``--fps-cap``, with an alert on every new track (hold-off 0),
an evidence clip per alert (1 s before, 1 s after) and a webhook notification per alert to a
local HTTP receiver. ``--viewers`` clients watch the MJPEG live view (each reads for 5-30 s,
leaves, comes back), one more holds an idle connection and one stops reading. Printed:
- per camera: frames in / processed / dropped (processing behind) / skipped (fps cap),
  reconnects, reconnect time after the source returns (median and max; target <= 5 s);
- memory: RSS after the warm-up (``--warmup`` s) and at the end (target: growth < 5%);
- alerts counted by the monitor vs stored in the event store, clips opened vs written vs on
  disk, notifications received (target: none lost);
- latency from a frame's decode to its alert event and to the webhook receiving the
  notification, p50 / p99;
- viewers: streams opened, MJPEG frames received, refused (503); how long the stop took with
  viewers still connected.
"""

from __future__ import annotations

import argparse
import random
import socket
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks._common import data_root, print_table
from facetrack.events import Alert, Event
from facetrack.service import Monitor, MonitorConfig
from facetrack.storage.events import EventStore
from tests.integration.servers import Camera, WebhookReceiver, free_port, short_gop_copy


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


@dataclass
class Viewers:
    """Clients of the live view: watchers that come and go, an idle socket, a stalled one."""

    port: int
    cameras: list[str]
    count: int
    stop: threading.Event = field(default_factory=threading.Event)
    streams: int = 0
    frames: int = 0
    refused: int = 0
    held: list[socket.socket] = field(default_factory=list)

    def start(self) -> None:
        for i in range(self.count):
            threading.Thread(target=self._watch, args=(random.Random(i),), daemon=True).start()
        idle = socket.create_connection(("127.0.0.1", self.port))  # never sends a request
        stalled = socket.create_connection(("127.0.0.1", self.port))
        stalled.sendall(f"GET /cameras/{self.cameras[0]}.mjpg HTTP/1.1\r\nHost: x\r\n\r\n"
                        .encode())  # and never reads
        self.held += [idle, stalled]

    def _watch(self, rng: random.Random) -> None:
        while not self.stop.is_set():
            cam = rng.choice(self.cameras)
            until = time.monotonic() + rng.uniform(5, 30)
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
                    s.sendall(f"GET /cameras/{cam}.mjpg HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                    first = s.recv(64)
                    if b" 503 " in first:
                        self.refused += 1
                    else:
                        self.streams += 1
                        self._read(s, until)
            except OSError:
                pass
            self.stop.wait(rng.uniform(1, 5))

    def _read(self, s: socket.socket, until: float) -> None:
        while time.monotonic() < until and not self.stop.is_set():
            chunk = s.recv(1 << 16)
            if not chunk:
                return
            self.frames += chunk.count(b"--facetrackframe")

    def close(self) -> None:
        self.stop.set()
        for s in self.held:
            s.close()


def config(tmp: Path, cams: list[Camera], args: argparse.Namespace, hook: int, view: int
           ) -> MonitorConfig:
    return MonitorConfig.model_validate({
        "store": {"events_db": str(tmp / "events.db"), "events_jsonl": str(tmp / "ev.jsonl")},
        "clips": {"dir": str(tmp / "clips")},
        "metrics": {"log_every_s": 60},
        "live_view": {"port": view, "max_viewers": args.viewers + 2},
        "cameras": [{
            "name": cam.name, "source": cam.url, "fps_cap": args.fps_cap, "read_timeout_s": 3,
            "alerts": {"on": ["track_started"], "holdoff_s": 0},
            "clips": {"enabled": True, "pre_s": 1, "post_s": 1},
            "notify": {"urls": [f"json://127.0.0.1:{hook}/hook"],
                       "body": "{camera} {track_id} {time}"},
        } for cam in cams],
    })


def restart_round(mon: Monitor, cams: list[Camera], down: float, victim: int,
                  reconnect_s: dict[str, list[float]]) -> int:
    """Every camera's source killed once, staggered; the time each takes to come back."""
    for _ in range(len(cams)):
        cam = cams[victim % len(cams)]
        victim += 1
        cam.stop()
        time.sleep(down)
        cam.start()
        back = time.monotonic()
        stats = mon.cameras[cam.name].counters
        end = back + 30
        took = float("inf")
        while time.monotonic() < end:
            live = stats.live
            if live.state == "online" and live.online_since and live.online_since > back:
                took = live.online_since - back
                break
            time.sleep(0.05)
        reconnect_s[cam.name].append(took)
    return victim


def run(args: argparse.Namespace) -> dict[str, Any]:
    root = data_root() / "synth_tracks"
    tmp = Path(tempfile.mkdtemp(prefix="facetrack-soak-"))
    clips = [short_gop_copy(root / f"synth0{i % 4 + 1}" / "video.mp4", tmp / f"cam{i}.mp4",
                            seconds=12, width=args.width) for i in range(args.cameras)]
    cams = [Camera(c, f"cam{i}") for i, c in enumerate(clips)]
    receiver = WebhookReceiver()
    view_port = free_port()
    out: dict[str, Any] = {"tmp": tmp, "alert_latency": [], "capture": {}, "rss": [],
                           "backlog": [], "reconnect_s": {c.name: [] for c in cams}}

    def on_events(events: list[Event]) -> None:
        now = time.monotonic()
        for e in events:
            src = mon.cameras[e.camera].source if isinstance(e, Alert) else None
            if src is not None:
                t = src.started_at + e.timestamp  # type: ignore[attr-defined]
                out["alert_latency"].append(now - t)
                out["capture"][(e.camera, e.track_id)] = t

    mon = Monitor(config(tmp, cams, args, receiver.port, view_port), on_events=on_events)
    runner = threading.Thread(target=mon.run, kwargs={"duration_s": args.minutes * 60})
    t_start = time.monotonic()
    runner.start()
    viewers = Viewers(view_port, [c.name for c in cams], args.viewers)
    time.sleep(15)  # models load, the view starts listening
    viewers.start()
    next_kill, victim = t_start + args.kill_every, 0
    # a round of restarts takes up to (down + ~8 s) per camera: start one only if it ends well
    # before the monitor does, or the last camera's "reconnect" would be its stop
    round_s = len(cams) * (args.down + 8.0) + 10.0
    while runner.is_alive():
        now = time.monotonic()
        out["rss"].append((now - t_start, rss_mb()))
        if mon.clip_writer is not None:
            out["backlog"].append(mon.clip_writer.pending())
        if now >= next_kill and now - t_start < args.minutes * 60 - round_s:
            victim = restart_round(mon, cams, args.down, victim, out["reconnect_s"])
            next_kill = time.monotonic() + args.kill_every
        if now - t_start >= args.minutes * 60 - 1 and "stop_s" not in out:
            t0 = time.monotonic()
            mon.stop()  # viewers still connected, one idle, one not reading
            runner.join(timeout=120)
            out["stop_s"] = time.monotonic() - t0
        runner.join(timeout=5)
    viewers.close()
    for cam in cams:
        cam.close()
    time.sleep(2)  # late notifications
    receiver.close()
    out.update(mon=mon, counters=mon.counters(), receiver=receiver, viewers=viewers)
    return out


def report(args: argparse.Namespace, out: dict[str, Any]) -> None:
    counters, mon, receiver = out["counters"], out["mon"], out["receiver"]
    with EventStore(out["tmp"] / "events.db") as store:
        stored_alerts = store.query(kind="alert")
    on_disk = len([p for p in (out["tmp"] / "clips").rglob("*.mp4")
                   if ".spool" not in p.parts])
    notify_latency = []
    for arrived, body in receiver.arrivals:
        camera, track, *_ = body["message"].split()
        t = out["capture"].get((camera, int(track)))
        if t is not None:
            notify_latency.append(arrived - t)
    rows = []
    for name, c in counters.items():
        times = out["reconnect_s"][name]
        rec = [r for r in times if r != float("inf")]
        rows.append([name, c.live.frames_in, c.processed, c.live.dropped, c.live.skipped,
                     c.live.reconnects, len(times),
                     statistics.median(rec) if rec else float("nan"),
                     max(times) if times else float("nan"), c.failures])
    print_table(["camera", "frames in", "processed", "dropped", "skipped (cap)",
                 "reconnects", "source restarts", "reconnect s (median)", "reconnect s (max)",
                 "failures"], rows)
    after = [m for t, m in out["rss"] if t >= args.warmup]
    base, last = (after[0], after[-1]) if after else (float("nan"), float("nan"))
    trend = [after[int(q * (len(after) - 1))] for q in (0.0, 0.25, 0.5, 0.75, 1.0)] if after \
        else []
    print("\nRSS after warm-up at 0/25/50/75/100% of the rest of the run (MB): "
          + " / ".join(f"{m:.0f}" for m in trend))
    backlog = out["backlog"]
    if backlog:
        print(f"clips waiting to be encoded: median {statistics.median(backlog):.0f}, "
              f"max {max(backlog)}, at the end {backlog[-1]}")
    writer = mon.clip_writer
    print_table(["minutes", "RSS after warm-up MB", "RSS end MB", "growth", "RSS max MB",
                 "alerts (counted)", "alerts (stored)", "clips opened", "clips written",
                 "clips lost", "clips on disk", "notifications received"], [[
        args.minutes, base, last, f"{(last - base) / base:+.1%}",
        max(m for _, m in out["rss"]), sum(c.alerts for c in counters.values()),
        len(stored_alerts), sum(c.clips for c in counters.values()),
        writer.written if writer else 0, sum(c.clips_lost for c in counters.values()),
        on_disk, len(receiver.arrivals)]])
    lat = out["alert_latency"]
    print()
    print_table(["latency", "n", "p50 ms", "p99 ms"], [
        ["frame decoded -> alert event", len(lat), 1000 * pct(lat, 0.5), 1000 * pct(lat, 0.99)],
        ["frame decoded -> notification received", len(notify_latency),
         1000 * pct(notify_latency, 0.5), 1000 * pct(notify_latency, 0.99)],
    ])
    v = out["viewers"]
    print()
    print_table(["viewers", "streams opened", "MJPEG frames received", "refused (503)",
                 "stop with viewers connected s"],
                [[args.viewers, v.streams, v.frames, v.refused, out.get("stop_s", float("nan"))]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--kill-every", type=float, default=60.0)
    parser.add_argument("--down", type=float, default=3.0, help="seconds a killed source stays "
                        "down")
    parser.add_argument("--fps-cap", type=float, default=10.0)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--warmup", type=float, default=120.0)
    parser.add_argument("--viewers", type=int, default=4)
    args = parser.parse_args()
    report(args, run(args))


if __name__ == "__main__":
    main()
