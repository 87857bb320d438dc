"""Soak: cameras streaming synth_tracks clips over RTSP in a loop for a bounded time, each
camera killed and restarted every ``--kill-every`` seconds, into one ``Monitor``.

    python -m benchmarks.monitor_soak [--cameras 4] [--minutes 10] [--kill-every 60]
                                      [--down 3] [--fps-cap 10] [--width 1280]

Real parts: per camera an RTSP server (tests/rtsp, npm) fed by Debian ffmpeg (a short-GOP,
``--width`` copy of a synth_tracks clip, looped at its native 25 fps). The monitor runs every
stage (detect, track, analyse) at ``--fps-cap``, with an alert on every new track (hold-off 0),
an evidence clip per alert (1 s before, 1 s after) and a webhook notification per alert to a
local HTTP receiver. Printed:
- per camera: frames in / processed / dropped (processing behind) / skipped (fps cap),
  reconnects, reconnect time after the source returns (median and max; target <= 5 s);
- memory: RSS after the warm-up (``--warmup`` s) and at the end (target: growth < 5%);
- alerts counted by the monitor vs stored in the event store, clips opened vs written vs on
  disk, notifications received (target: none lost);
- latency from a frame's decode to its alert event and to the webhook receiving the
  notification, p50 / p99.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

from benchmarks._common import data_root, print_table
from facetrack.events import Alert, Event
from facetrack.monitor import Monitor, MonitorConfig
from facetrack.storage.events import EventStore
from tests.live_support import Camera, WebhookReceiver, short_gop_copy


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
    args = parser.parse_args()

    root = data_root() / "synth_tracks"
    tmp = Path(tempfile.mkdtemp(prefix="facetrack-soak-"))
    clips = [short_gop_copy(root / f"synth0{i % 4 + 1}" / "video.mp4", tmp / f"cam{i}.mp4",
                            seconds=12, width=args.width) for i in range(args.cameras)]
    cams = [Camera(c, f"cam{i}") for i, c in enumerate(clips)]
    receiver = WebhookReceiver()
    cfg = MonitorConfig.model_validate({
        "store": {"events_db": str(tmp / "events.db"), "events_jsonl": str(tmp / "ev.jsonl")},
        "clips": {"dir": str(tmp / "clips")},
        "metrics": {"log_every_s": 60},
        "cameras": [{
            "name": f"cam{i}", "source": cam.url, "fps_cap": args.fps_cap,
            "read_timeout_s": 3,
            "alerts": {"on": ["track_started"], "holdoff_s": 0},
            "clips": {"enabled": True, "pre_s": 1, "post_s": 1},
            "notify": {"urls": [f"json://127.0.0.1:{receiver.port}/hook"],
                       "body": "{camera} {track_id} {time}"},
        } for i, cam in enumerate(cams)],
    })
    alert_latency: list[float] = []
    capture: dict[tuple[str, int], float] = {}
    mon: Monitor

    def on_events(events: list[Event]) -> None:
        now = time.monotonic()
        for e in events:
            if isinstance(e, Alert):
                src = mon.cameras[e.camera].source
                if src is not None:
                    t = src.started_at + e.timestamp
                    alert_latency.append(now - t)
                    capture[(e.camera, e.track_id)] = t

    mon = Monitor(cfg, on_events=on_events)
    runner = threading.Thread(target=mon.run, kwargs={"duration_s": args.minutes * 60})
    t_start = time.monotonic()
    runner.start()
    reconnect_s: dict[str, list[float]] = {c.name: [] for c in cams}
    rss: list[tuple[float, float]] = []
    backlog: list[int] = []  # clips queued for encoding (or refused by the disk), per sample
    next_kill = t_start + args.kill_every
    victim = 0
    while runner.is_alive():
        now = time.monotonic()
        rss.append((now - t_start, rss_mb()))
        if mon.clip_writer is not None:
            backlog.append(mon.clip_writer.pending())
        # a round of restarts takes up to (down + ~8 s) per camera: start one only if it ends
        # well before the monitor does, or the last camera's "reconnect" would be its stop
        round_s = len(cams) * (args.down + 8.0) + 10.0
        if now >= next_kill and now - t_start < args.minutes * 60 - round_s:
            # every camera's source is killed once per --kill-every, staggered
            for _ in range(len(cams)):
                cam = cams[victim % len(cams)]
                victim += 1
                cam.stop()
                time.sleep(args.down)
                cam.start()
                back = time.monotonic()
                stats = mon.cameras[cam.name].counters
                end = back + 30
                while time.monotonic() < end:
                    live = stats.live
                    if live.state == "online" and live.online_since and live.online_since > back:
                        reconnect_s[cam.name].append(live.online_since - back)
                        break
                    time.sleep(0.05)
                else:
                    reconnect_s[cam.name].append(float("inf"))
            next_kill = time.monotonic() + args.kill_every
        runner.join(timeout=5)
    for cam in cams:
        cam.close()
    time.sleep(2)  # late notifications
    receiver.close()

    counters = mon.counters()
    with EventStore(tmp / "events.db") as store:
        stored_alerts = store.query(kind="alert")
    on_disk = len([p for p in (tmp / "clips").rglob("*.mp4") if ".spool" not in p.parts])
    notify_latency = []
    for arrived, body in receiver.arrivals:
        camera, track, *_ = body["message"].split()
        t = capture.get((camera, int(track)))
        if t is not None:
            notify_latency.append(arrived - t)
    rows = []
    for name, c in counters.items():
        rec = [r for r in reconnect_s[name] if r != float("inf")]
        rows.append([name, c.live.frames_in, c.processed, c.live.dropped, c.live.skipped,
                     c.live.reconnects, len(reconnect_s[name]),
                     statistics.median(rec) if rec else float("nan"),
                     max(reconnect_s[name]) if reconnect_s[name] else float("nan"),
                     c.failures])
    print_table(["camera", "frames in", "processed", "dropped", "skipped (cap)",
                 "reconnects", "source restarts", "reconnect s (median)", "reconnect s (max)",
                 "failures"], rows)
    after = [m for t, m in rss if t >= args.warmup]
    base, last = (after[0], after[-1]) if after else (float("nan"), float("nan"))
    alerts = sum(c.alerts for c in counters.values())
    opened = sum(c.clips for c in counters.values())
    writer = mon.clip_writer
    print()
    trend = [after[int(q * (len(after) - 1))] for q in (0.0, 0.25, 0.5, 0.75, 1.0)] if after \
        else []
    print("RSS after warm-up at 0/25/50/75/100% of the rest of the run (MB): "
          + " / ".join(f"{m:.0f}" for m in trend))
    if backlog:
        print(f"clips waiting to be encoded: median {statistics.median(backlog):.0f}, "
              f"max {max(backlog)}, at the end {backlog[-1]}")
    print_table(["minutes", "RSS after warm-up MB", "RSS end MB", "growth", "RSS max MB",
                 "alerts (counted)", "alerts (stored)", "clips opened", "clips written",
                 "clips lost", "clips on disk", "notifications received"], [[
        args.minutes, base, last, f"{(last - base) / base:+.1%}",
        max(m for _, m in rss), alerts, len(stored_alerts), opened,
        writer.written if writer else 0, sum(c.clips_lost for c in counters.values()),
        on_disk, len(receiver.arrivals)]])
    print()
    print_table(["latency", "n", "p50 ms", "p99 ms"], [
        ["frame decoded -> alert event", len(alert_latency), 1000 * pct(alert_latency, 0.5),
         1000 * pct(alert_latency, 0.99)],
        ["frame decoded -> notification received", len(notify_latency),
         1000 * pct(notify_latency, 0.5), 1000 * pct(notify_latency, 0.99)],
    ])


if __name__ == "__main__":
    main()
