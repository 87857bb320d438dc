"""Small functions that build the monitor's parts from its config (so ``Monitor`` reads as
what happens, in order, and each part is built in one place)."""

from __future__ import annotations

import logging
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from facetrack.config.camera import CameraConfig
from facetrack.config.service import MonitorConfig
from facetrack.draw import pictures
from facetrack.pipeline.base import Sink
from facetrack.sinks.clips import ClipRecorder, ClipWriter
from facetrack.sinks.latest_frame import LatestFrame
from facetrack.sinks.live_view import LiveView, RtspPush
from facetrack.sinks.notify import Notifier
from facetrack.storage.clips import ClipLinks, ClipStorage, make_clip_storage

log = logging.getLogger(__name__)


def open_views(config: MonitorConfig, stack: ExitStack, frames: dict[str, LatestFrame]
               ) -> tuple[LiveView | None, Any]:
    """The browser view (over the cameras' latest ``frames``) and the local window, when
    configured (closed by ``stack``)."""
    from facetrack.sinks.window import open_window

    names = [c.name for c in config.cameras]
    lv = config.live_view
    view = None
    if lv.port is not None:
        view = LiveView(names, lv.port, lv.host, token=lv.token, max_viewers=lv.max_viewers,
                        slots=frames)
        stack.callback(view.close)
    window = open_window(names) if lv.window else None
    if window is not None:
        stack.callback(window.close)
    return view, window


def open_clips(config: MonitorConfig, stack: ExitStack
               ) -> tuple[ClipStorage | None, ClipWriter | None]:
    """Clip storage and the one clip writer, when any camera records clips."""
    if not any(c.clips.enabled for c in config.cameras):
        return None, None
    storage = make_clip_storage(config.clips)
    stack.callback(storage.close)
    writer = ClipWriter(storage, retry_s=config.clips.retry_every_s)
    stack.callback(writer.close)
    return storage, writer


@dataclass
class CameraSinks:
    """The outputs of one camera, and the two whose counters the monitor reports."""

    sinks: list[Sink] = field(default_factory=list)
    recorder: ClipRecorder | None = None
    notifier: Notifier | None = None


def camera_sinks(cfg: CameraConfig, writer: ClipWriter | None, links: ClipLinks | None,
                 latest: LatestFrame | None, window: Any) -> CameraSinks:
    """Clip recorder, notifier, live view, window and RTSP push of one camera, as configured;
    every drawing of a frame is made once, faces hidden as the camera's privacy says
    (``facetrack.draw.pictures``)."""
    out = CameraSinks()
    drawing, plain = pictures(cfg.tracker)
    if writer is not None and links is not None:
        out.recorder = ClipRecorder(cfg.name, cfg.clips, writer, links.key,
                                    drawing if cfg.clips.annotated else plain)
        out.sinks.append(out.recorder)
    if cfg.notify.urls:
        n = cfg.notify
        out.notifier = Notifier(cfg.name, n.urls, n.title, n.body, n.timeout_s, n.retries)
        out.sinks.append(out.notifier)
    if latest is not None:  # the live view and the API show it
        latest.drawing = drawing
        out.sinks.append(latest)
    if window is not None:
        out.sinks.append(window.sink(cfg.name, drawing))
    if cfg.push.url:
        out.sinks.append(RtspPush(cfg.push.url, cfg.push.fps, cfg.push.transport, drawing))
    return out


def open_api(monitor: Any, stack: ExitStack) -> int:
    """The API and dashboard of ``monitor`` on their own thread (closed by ``stack`` before
    the stores it reads); the port it listens on."""
    from facetrack.api import create_app
    from facetrack.api.context import open_services
    from facetrack.config.api import ApiConfig
    from facetrack.runtime.web import BackgroundServer

    config: MonitorConfig = monitor.config
    api = config.api or ApiConfig()
    services = stack.enter_context(open_services(config, live=monitor,
                                                 metrics=monitor.collector()))
    check_accounts(services.accounts, api.host)
    tls = (api.tls.cert, api.tls.key) if api.tls is not None else None
    server = BackgroundServer(create_app(services), api.host, api.port, tls,
                              proxies=api.trusted_proxies)
    stack.callback(server.close)
    log.info("api: serving on %s://%s:%d/", "https" if tls else "http", api.host, server.port)
    return server.port


def check_accounts(accounts: Any, host: str) -> None:
    """A server with no account is refused on any address but loopback (anyone on the
    network could otherwise take the first account)."""
    from facetrack.config.service import is_loopback
    from facetrack.errors import ConfigError

    if not is_loopback(host) and accounts.count_users() == 0:
        raise ConfigError(f"api.host {host} is reachable from other machines and there is no "
                          "account yet: create one first (facetrack users add NAME --role "
                          "admin), or listen on 127.0.0.1")


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Ask glibc for at most ``arenas`` malloc arenas (``M_ARENA_MAX``), as
    ``MALLOC_ARENA_MAX=2`` would. Many threads each freeing large buffers (decoders, clip
    encoders) otherwise spread memory over many arenas that are rarely returned: in the 2-camera
    soak RSS rose 18% in 4 minutes without the limit and 4.9% (not steadily) with it. A no-op
    where the C library is not glibc."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(-8, arenas))  # M_ARENA_MAX = -8 in glibc's malloc.h
    except (OSError, AttributeError):
        return False
