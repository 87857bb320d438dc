"""Retention: the monitor deletes events and audience windows older than ``retention:`` says,
when it starts and then every ``retention.every_s``, on a thread of its own (a slow store
delays only this; each batch is its own short transaction, so cameras keep writing)."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from facetrack.config.service import RetentionConfig
from facetrack.errors import DatabaseError
from facetrack.runtime import spawn
from facetrack.storage.audience import AudienceStore
from facetrack.storage.events import EventStore

log = logging.getLogger(__name__)


def cutoff(days: float, now: datetime | None = None) -> str:
    """The ISO UTC time ``days`` before ``now``: rows before it are removed."""
    when = (now or datetime.now(UTC)) - timedelta(days=days)
    return when.isoformat(timespec="milliseconds")


class RetentionKeeper:
    def __init__(self, config: RetentionConfig, events: EventStore,
                 audience: AudienceStore) -> None:
        self.config, self.events, self.audience = config, events, audience
        self.removed = {"events": 0, "audience": 0}
        self._stop = threading.Event()
        self._failing = False
        self._thread = spawn(self._loop, "retention")

    def enforce(self) -> dict[str, int]:
        """One pass over both stores; what it removed (logged when anything)."""
        done = {"events": 0, "audience": 0}
        c = self.config
        try:
            if c.events_days is not None:
                done["events"] = self.events.remove_older(cutoff(c.events_days))
            if c.audience_days is not None:
                done["audience"] = self.audience.remove_older(cutoff(c.audience_days))
        except DatabaseError as exc:
            if not self._failing:
                log.warning("retention not enforced: %s", exc)
            self._failing = True
            return done
        self._failing = False
        for what, n in done.items():
            self.removed[what] += n
        if any(done.values()):
            log.info("retention: removed %d events older than %s days and %d audience windows "
                     "older than %s days", done["events"], c.events_days, done["audience"],
                     c.audience_days)
        return done

    def _loop(self) -> None:
        self.enforce()  # on start, then every every_s
        while not self._stop.wait(self.config.every_s):
            self.enforce()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30.0)
