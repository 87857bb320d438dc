"""What the API's routes work on (``Services``), opened from a ``ServerConfig`` in one
``ExitStack`` and closed in reverse order.

The event store, audience windows, camera states and accounts share the event store's
database (``store.events_db``); the face database and the recognition models are opened on
first use (a server that never sees a face route never loads a model). ``live`` is set when the
API runs inside ``facetrack monitor``: its cameras' counters and latest frames.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from facetrack.config import TrackerConfig
from facetrack.config.api import ApiConfig
from facetrack.config.service import ServerConfig
from facetrack.errors import FacetrackError
from facetrack.runtime.jobs import JobRunner
from facetrack.storage.accounts import AccountStore
from facetrack.storage.audience import AudienceStore
from facetrack.storage.cameras import CameraStatusStore
from facetrack.storage.events import EventStore

log = logging.getLogger(__name__)


class LiveCameras(Protocol):
    """The monitor, seen from its in-process API."""

    def counters(self) -> dict[str, Any]: ...

    def latest_frame(self, camera: str) -> Any: ...

    def heatmap(self, camera: str, name: str) -> bytes | None: ...


class ModelsBusy(FacetrackError):
    """The face models stayed busy too long (an HTTP 503)."""


class Faces:
    """The face database and the recognition models, opened on first use and shared by the
    routes. The models run one call at a time (``lock``): OpenCV's detector is not
    thread-safe, and two cores gain nothing from running two at once."""

    #: a face route waits this long for the models (a job may hold them) before a 503
    WAIT_S = 15.0
    #: requests waiting for the models at once (each holds one of the server's threads)
    MAX_WAITING = 4

    def __init__(self, database: str, tracker: TrackerConfig) -> None:
        self.database, self.tracker = database, tracker
        self.lock = threading.Lock()
        self._waiting = threading.BoundedSemaphore(self.MAX_WAITING)
        self._db: Any = None
        self._recognizer: Any = None
        self._open_lock = threading.Lock()

    @contextmanager
    def models(self, wait_s: float | None = None) -> Iterator[None]:
        """Hold the models for one call; ``ModelsBusy`` when another call or a job keeps them
        longer than ``wait_s`` (so waiting requests never pile up on the server's threads)."""
        queued = wait_s is None  # a request: at most MAX_WAITING wait, the rest are told at once
        if queued and not self._waiting.acquire(blocking=False):
            raise ModelsBusy("the face models are busy (a job or other requests); try again")
        try:
            got = self.lock.acquire(timeout=self.WAIT_S if wait_s is None else wait_s)
        finally:
            if queued:
                self._waiting.release()
        if not got:
            raise ModelsBusy("the face models are busy (a job or other requests); try again")
        try:
            yield
        finally:
            self.lock.release()

    @property
    def exists(self) -> bool:
        return "://" in self.database or Path(self.database).is_file()

    def db(self) -> Any:
        from facetrack.recognition.gallery import FaceDatabase

        with self._open_lock:
            if self._db is None:
                db = FaceDatabase(self.database)
                db.open()
                self._db = db
            return self._db

    def recognizer(self, *, identify: bool) -> Any:
        """The detector + embedder (+ the gallery when ``identify`` and a database exists)."""
        from facetrack.recognition.recognizer import FaceRecognizer

        with self._open_lock:
            if self._recognizer is None:
                self._recognizer = FaceRecognizer(self.tracker.recognition,
                                                  detector_config=self.tracker.detector)
            plain = self._recognizer
        if identify and self.exists:
            return plain.with_gallery(self.db())
        return plain

    def close(self) -> None:
        with self._open_lock:
            if self._db is not None:
                self._db.close()
                self._db = None


@dataclass
class Services:
    config: ServerConfig
    api: ApiConfig
    accounts: AccountStore
    events: EventStore
    audience: AudienceStore
    cameras: CameraStatusStore
    faces: Faces
    jobs: JobRunner
    live: LiveCameras | None = None
    metrics: Any = None  # a prometheus collector (the monitor's counters) when live
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def secure(self) -> bool:
        if self.api.secure_cookies is not None:
            return self.api.secure_cookies
        return self.api.tls is not None


def faces_database(config: ServerConfig, api: ApiConfig) -> tuple[str, TrackerConfig]:
    """The face database the people routes use and the tracker config its models come from:
    ``api.faces_db``, else the first camera with recognition on, else faces.db."""
    for cam in config.cameras:
        rec = cam.tracker.recognition
        if rec.database and (api.faces_db is None or api.faces_db == rec.database):
            return rec.database, cam.tracker
    return api.faces_db or "faces.db", TrackerConfig()


@contextmanager
def open_services(config: ServerConfig, *, live: LiveCameras | None = None,
                  metrics: Any = None) -> Iterator[Services]:
    api = config.api or ApiConfig()
    target = config.store.events_db
    with ExitStack() as stack:
        accounts = stack.enter_context(AccountStore(target))
        events = stack.enter_context(EventStore(target))
        audience = stack.enter_context(AudienceStore(target))
        cameras = stack.enter_context(CameraStatusStore(target))
        database, tracker = faces_database(config, api)
        faces = Faces(database, tracker)
        stack.callback(faces.close)
        jobs = JobRunner(keep=api.max_jobs_kept)
        stack.callback(jobs.close)
        yield Services(config, api, accounts, events, audience, cameras, faces, jobs,
                       live=live, metrics=metrics)
