"""The exact search index over a face database's vectors, in numpy, and the queries that load
them.

Vectors are stored little-endian float32 and unit length, so cosine similarity is a dot
product; a person's similarity to a query is their best embedding's. Exact search reads every
vector a query: 1.8 ms for 100k, 24 ms for 1M (docs/benchmarks.md); large galleries use
``recognition.ann`` instead (``recognition.search`` chooses). This index is rebuilt when the
database changed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa

from facetrack.errors import DatabaseError
from facetrack.recognition.schema import embeddings, people

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]
VECTOR_DTYPE = np.dtype("<f4")


@dataclass(frozen=True)
class Match:
    person_id: int
    name: str
    similarity: float  # cosine, -1..1


@dataclass(frozen=True)
class VectorIndex:
    ids: IntArray
    person_ids: IntArray
    vectors: FloatArray
    starts: npt.NDArray[np.intp]  # first row of each person (rows are sorted by person)
    people: IntArray  # the person id of each group
    names: Mapping[int, str]

    @classmethod
    def load(cls, conn: sa.Connection, dim: int, where: str,
             decode: Callable[[bytes], bytes] = bytes) -> VectorIndex:
        """Every stored vector (``decode``: as stored -> float32 bytes, for encrypted
        databases), grouped by person."""
        ids, person_ids, vectors = load_rows(conn, dim, where, decode)
        starts = (np.flatnonzero(np.r_[True, person_ids[1:] != person_ids[:-1]]) if len(ids)
                  else np.zeros(0, np.intp))
        return cls(ids, person_ids, vectors, starts, person_ids[starts], load_names(conn))

    def search(self, queries: FloatArray, k: int) -> list[list[Match]]:
        """For each query row, the ``k`` most similar people, best first."""
        if len(self.ids) == 0 or len(queries) == 0:
            return [[] for _ in range(len(queries))]
        per_person = np.maximum.reduceat(queries @ self.vectors.T, self.starts, axis=1)
        top = np.argsort(-per_person, axis=1, kind="stable")[:, :k]
        return [
            [Match(int(self.people[j]), self.names[int(self.people[j])],
                   float(per_person[i, j])) for j in row]
            for i, row in enumerate(top)
        ]


def load_rows(conn: sa.Connection, dim: int, where: str, decode: Callable[[bytes], bytes],
              only: IntArray | None = None) -> tuple[IntArray, IntArray, FloatArray]:
    """The stored vectors (all, or those whose id is in ``only``) as ``ids``, ``person_ids``,
    ``vectors``, grouped by person. New rows have the highest ids, so ``only`` reads from its
    smallest id on (PostgreSQL may commit ids out of order: they are still read)."""
    query = (sa.select(embeddings.c.id, embeddings.c.person_id, embeddings.c.vector)
             .order_by(embeddings.c.person_id, embeddings.c.id))
    if only is not None:
        if len(only) == 0:
            return (np.zeros(0, np.int64), np.zeros(0, np.int64),
                    np.zeros((0, dim), np.float32))
        query = query.where(embeddings.c.id >= int(only.min()))
        wanted = set(only.tolist())
    rows = [(r[0], r[1], decode(bytes(r[2]))) for r in conn.execute(query)
            if only is None or r[0] in wanted]
    m = len(rows)
    if m and any(len(r[2]) != dim * VECTOR_DTYPE.itemsize for r in rows):
        raise DatabaseError(f"{where}: stored vectors do not match dim {dim} (corrupt?)")
    ids = np.array([r[0] for r in rows], np.int64)
    person_ids = np.array([r[1] for r in rows], np.int64)
    vectors = np.frombuffer(b"".join(r[2] for r in rows), VECTOR_DTYPE)
    return ids, person_ids, vectors.astype(np.float32).reshape(m, dim)


def _driver_rows(conn: sa.Connection, query: sa.Select[Any]) -> list[tuple[Any, ...]]:
    """The rows of a parameterless query from the driver's cursor, in this transaction: for
    a million rows, SQLAlchemy's per-row objects cost seconds."""
    cursor = conn.connection.cursor()
    try:
        cursor.execute(str(query.compile(conn)))
        return list(cursor.fetchall())
    finally:
        cursor.close()


def load_names(conn: sa.Connection) -> dict[int, str]:
    return dict(_driver_rows(conn, sa.select(people.c.id, people.c.name)))


def stored_ids(conn: sa.Connection) -> IntArray:
    """Every embedding id, ascending."""
    rows = _driver_rows(conn, sa.select(embeddings.c.id).order_by(embeddings.c.id))
    return np.array(rows, np.int64).reshape(len(rows))
