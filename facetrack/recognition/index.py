"""The search index over a face database's vectors: exact cosine search in numpy.

Vectors are stored little-endian float32 and unit length, so cosine similarity is a dot
product; a person's similarity to a query is their best embedding's. Exact search was measured
against faiss IVF and HNSW up to 1M vectors (docs/benchmarks.md): full recall at 24 ms p50 for
1M, so no approximate index is wired in. The index is rebuilt when the database changed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

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
        rows = [(r[0], r[1], decode(bytes(r[2]))) for r in conn.execute(
            sa.select(embeddings.c.id, embeddings.c.person_id, embeddings.c.vector)
            .order_by(embeddings.c.person_id, embeddings.c.id))]
        names = {int(r[0]): str(r[1]) for r in conn.execute(sa.select(people.c.id,
                                                                       people.c.name))}
        m = len(rows)
        if m and any(len(r[2]) != dim * VECTOR_DTYPE.itemsize for r in rows):
            raise DatabaseError(f"{where}: stored vectors do not match dim {dim} (corrupt?)")
        ids = np.array([r[0] for r in rows], np.int64)
        person_ids = np.array([r[1] for r in rows], np.int64)
        vectors = np.frombuffer(b"".join(r[2] for r in rows), VECTOR_DTYPE)
        vectors = vectors.astype(np.float32).reshape(m, dim)
        starts = (np.flatnonzero(np.r_[True, person_ids[1:] != person_ids[:-1]]) if m
                  else np.zeros(0, np.intp))
        return cls(ids, person_ids, vectors, starts, person_ids[starts], names)

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
