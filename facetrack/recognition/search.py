"""Which index searches a face database, and keeping it in step with the stored rows.

``recognition.index`` chooses: ``exact`` (numpy, ``recognition.index``), ``approximate``
(``recognition.ann``: needs faiss, the ``large-gallery`` extra) or ``auto``: exact below
``AUTO_MIN`` embeddings, approximate from there when faiss is installed (exact, with one
warning, when it is not). Exact search is reloaded whenever the database changed (cheap at
that size); the approximate index is loaded once (about 10 s for 1M embeddings on SQLite, 16 s
on PostgreSQL) and then synced by id: the stored ids are compared with the indexed ones
(0.6-1.1 s at 1M), removed ones leave the index and only new rows are read, so a removal by
this or any other process or machine is gone from the next search.

Vectors are searched in this process on PostgreSQL too: pgvector is not packaged by Debian 12
(the platform facetrack is tested on), and encrypted templates (``privacy.keys``) cannot be
searched by the database anyway.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Literal

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa

from facetrack.errors import ConfigError
from facetrack.recognition.ann import SUB_DIM, PersonIndex, load_faiss
from facetrack.recognition.index import (
    FloatArray,
    IntArray,
    Match,
    VectorIndex,
    load_names,
    load_rows,
    stored_ids,
)
from facetrack.recognition.schema import embeddings
from facetrack.recognition.writer import data_version
from facetrack.storage.sql import Database

log = logging.getLogger(__name__)

IndexMode = Literal["auto", "exact", "approximate"]
#: ``auto`` searches exactly below this many embeddings (exact: about 4 ms a query here)
AUTO_MIN = 200_000


def change_key(conn: sa.Connection, stored: Mapping[str, str], db: Database
               ) -> tuple[tuple[int, int], int]:
    """The database's change key (its revision, and SQLite's count of other connections'
    commits) and its vectors' size, from its ``meta`` rows."""
    return ((int(stored.get("revision", "0")), data_version(conn, db)),
            int(stored.get("dim", "0")))


class GallerySearch:
    """The search index of one database, cached by its change key and synced on changes.

    ``decode``: stored bytes -> float32 bytes (templates' decryption). Callers hold the
    database's lock around every call (the approximate index is changed in place)."""

    def __init__(self, mode: IndexMode, where: str, decode: Callable[[bytes], bytes]) -> None:
        if mode not in ("auto", "exact", "approximate"):
            raise ConfigError(f"recognition.index: expected auto, exact or approximate, "
                              f"got {mode!r}")
        if mode == "approximate":
            load_faiss()  # a missing faiss is an error now, not at the first search
        self.mode, self.where, self._decode = mode, where, decode
        self._key: tuple[int, int] | None = None
        self._index: VectorIndex | PersonIndex | None = None
        self._warned = False

    def reset(self) -> None:
        """Forget the index (closed database, new key): the next search loads it again."""
        self._key, self._index = None, None

    def index(self, conn: sa.Connection, key: tuple[int, int], dim: int
              ) -> VectorIndex | PersonIndex:
        """The index for this snapshot (``key``: the database's change key)."""
        if self._index is not None and self._key == key:
            return self._index
        if isinstance(self._index, PersonIndex) and self._index.dim == dim:
            self._sync(conn, self._index)
        elif self._approximate(conn, dim):
            self._index = self._load(conn, dim)
        else:
            self._index = VectorIndex.load(conn, dim, self.where, self._decode)
        self._key = key
        return self._index

    def search(self, conn: sa.Connection, key: tuple[int, int], dim: int,
               queries: FloatArray, k: int) -> list[list[Match]]:
        return self.index(conn, key, dim).search(queries, k)

    def matrix(self, conn: sa.Connection, key: tuple[int, int], dim: int
               ) -> tuple[IntArray, IntArray, FloatArray]:
        index = self.index(conn, key, dim)
        if isinstance(index, PersonIndex):
            return index.arrays()
        return index.ids.copy(), index.person_ids.copy(), index.vectors.copy()

    def _approximate(self, conn: sa.Connection, dim: int) -> bool:
        if self.mode != "auto":
            return self.mode == "approximate"
        if dim % SUB_DIM:
            return False  # the codes need an even size (every model facetrack knows has one)
        count = int(conn.execute(sa.select(sa.func.count()).select_from(embeddings)).scalar()
                    or 0)
        if count < AUTO_MIN:
            return False
        try:
            load_faiss()
        except ConfigError as e:
            if not self._warned:
                log.warning("%s: %d embeddings searched exactly (slow): %s", self.where,
                            count, e)
                self._warned = True
            return False
        return True

    def _load(self, conn: sa.Connection, dim: int) -> PersonIndex:
        started = time.perf_counter()
        log.info("%s: loading the approximate search index", self.where)
        index = PersonIndex(dim, load_names(conn))
        index.add(*load_rows(conn, dim, self.where, self._decode))
        log.info("%s: search index of %d embeddings (%d people) loaded in %.1f s", self.where,
                 len(index), index.people, time.perf_counter() - started)
        return index

    def _sync(self, conn: sa.Connection, index: PersonIndex) -> None:
        """Bring ``index`` to the stored rows by id: no rebuild, only new rows are read."""
        current = stored_ids(conn)
        gone, new = _missing(index.ids, current), _missing(current, index.ids)
        index.remove(gone)
        index.names = load_names(conn)
        index.add(*load_rows(conn, index.dim, self.where, self._decode, new))
        log.debug("%s: search index synced (-%d +%d embeddings)", self.where, len(gone),
                  len(new))


def _missing(ids: IntArray, other: IntArray) -> IntArray:
    """The ``ids`` not in ``other`` (both ascending): binary search, no sort."""
    at = np.minimum(np.searchsorted(other, ids), max(len(other) - 1, 0))
    found: npt.NDArray[np.bool_] = (other[at] == ids) if len(other) else np.zeros(len(ids), bool)
    return ids[~found]
