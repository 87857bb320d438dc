"""The approximate search index for large galleries: one quantised centroid per person, scanned
in full, then an exact re-ranking of the best candidates over all their embeddings.

Why this shape (docs/benchmarks.md, "A gallery of a million"): at 1M embeddings of 200k people,
exact search reads 488 MB a query (24 ms); faiss's inverted lists (IVF) and HNSW graphs, over
the embeddings or over the people, missed the exact answer on 2-15% of queries at the probe
counts that keep under 5 ms, because a new photo of a person (cosine 0.3-0.9 to their others)
is no near-duplicate. A person's mean embedding is closer to a new photo of them than most of
their single embeddings, and 8-bit codes of 200k means are 25 MB, scanned in about 3 ms: the
32 best people by their mean are re-ranked exactly (their best embedding's cosine), so the
returned person and similarity are always exact ones; only the choice of candidates is
approximate. The trade-off: the scan is linear in the number of people (about 14 ns a person),
so a gallery of a million people with one photo each takes about 14 ms a query.

The index is changed in place by embedding id (``add``/``remove``): only the touched people's
means are recomputed; nothing is retrained (the 8-bit range is the fixed -1..1 of unit vectors),
so a removed person is gone from the next search.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np

from facetrack.errors import ConfigError
from facetrack.recognition.index import FloatArray, IntArray, Match

log = logging.getLogger(__name__)

#: people re-ranked exactly per query (or k, when more are asked for)
CANDIDATES = 32


def load_faiss() -> Any:
    """faiss, or a one-line error naming the extra that installs it."""
    try:
        import faiss  # type: ignore[import-not-found,unused-ignore]
    except ImportError as e:
        raise ConfigError("recognition.index: approximate search needs faiss: "
                          "pip install 'facetrack[large-gallery]'") from e
    return faiss


def _unit_means(blocks: list[FloatArray]) -> FloatArray:
    means = np.stack([b.sum(axis=0) for b in blocks]).astype(np.float32)
    norms = np.linalg.norm(means, axis=1, keepdims=True)
    return np.ascontiguousarray(means / np.maximum(norms, 1e-12), np.float32)


class PersonIndex:
    """People's embeddings (exact, float32, per person) and a faiss 8-bit scan of their unit
    means. ``candidates``: people re-ranked exactly per query (more: slower, closer to exact;
    at least every person gives exact search's answers)."""

    def __init__(self, dim: int, names: Mapping[int, str], *, candidates: int = CANDIDATES
                 ) -> None:
        faiss = load_faiss()
        self.dim, self.candidates = dim, candidates
        self.names: Mapping[int, str] = names
        self._blocks: dict[int, FloatArray] = {}  # person -> (n, dim) embeddings
        self._block_ids: dict[int, IntArray] = {}  # person -> (n,) embedding ids
        self._ids = np.zeros(0, np.int64)  # every embedding id, sorted
        self._owners = np.zeros(0, np.int64)  # the person of each id
        quantiser = faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_8bit_uniform,
                                               faiss.METRIC_INNER_PRODUCT)
        # unit vectors: every component lies in -1..1, so the codes' range is fixed (no data
        # to train on, nothing to retrain when people come and go)
        quantiser.train(np.stack([np.ones(dim), -np.ones(dim)]).astype(np.float32))
        self._faiss = faiss.IndexIDMap2(quantiser)

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def people(self) -> int:
        return len(self._blocks)

    @property
    def ids(self) -> IntArray:
        return self._ids

    def add(self, ids: IntArray, person_ids: IntArray, vectors: FloatArray) -> None:
        """Add embeddings (unit rows); ids already present are an error."""
        if len(ids) == 0:
            return
        if np.isin(ids, self._ids).any():
            raise ValueError("embedding ids already in the index")
        order = np.argsort(person_ids, kind="stable")
        ids, person_ids, vectors = ids[order], person_ids[order], vectors[order]
        starts = np.flatnonzero(np.r_[True, person_ids[1:] != person_ids[:-1]])
        ends = np.r_[starts[1:], len(ids)]
        touched = [int(p) for p in person_ids[starts]]
        for p, s, e in zip(touched, starts, ends, strict=True):
            old = self._blocks.get(p)
            self._blocks[p] = vectors[s:e] if old is None else np.concatenate([old, vectors[s:e]])
            old_ids = self._block_ids.get(p)
            self._block_ids[p] = (ids[s:e] if old_ids is None
                                  else np.concatenate([old_ids, ids[s:e]]))
        all_ids = np.concatenate([self._ids, ids])
        owners = np.concatenate([self._owners, person_ids])
        by_id = np.argsort(all_ids, kind="stable")
        self._ids, self._owners = all_ids[by_id], owners[by_id]
        self._refresh(touched)

    def remove(self, ids: IntArray) -> None:
        """Remove embeddings by id (unknown ids are ignored); a person left with none is gone."""
        hit = np.isin(self._ids, ids)
        if not hit.any():
            return
        touched = [int(p) for p in np.unique(self._owners[hit])]
        self._ids, self._owners = self._ids[~hit], self._owners[~hit]
        for p in touched:
            keep = ~np.isin(self._block_ids[p], ids)
            self._blocks[p], self._block_ids[p] = self._blocks[p][keep], self._block_ids[p][keep]
            if not keep.any():
                del self._blocks[p], self._block_ids[p]
        self._refresh(touched)

    def _refresh(self, touched: list[int]) -> None:
        """Replace the touched people's means in the scan (removing the gone ones)."""
        self._faiss.remove_ids(np.asarray(touched, np.int64))
        alive = [p for p in touched if p in self._blocks]
        if alive:
            self._faiss.add_with_ids(_unit_means([self._blocks[p] for p in alive]),
                                     np.asarray(alive, np.int64))

    def search(self, queries: FloatArray, k: int) -> list[list[Match]]:
        """For each query row, the ``k`` most similar people (exact cosine of their best
        embedding), best first, among the candidates of the mean scan."""
        if not self._blocks or len(queries) == 0:
            return [[] for _ in range(len(queries))]
        n = min(max(self.candidates, k), self.people)
        _, candidates = self._faiss.search(np.ascontiguousarray(queries, np.float32), n)
        return [self._rerank(q, row, k) for q, row in zip(queries, candidates, strict=True)]

    def _rerank(self, query: FloatArray, candidates: IntArray, k: int) -> list[Match]:
        people = np.sort(candidates[candidates >= 0])  # person order: exact search's ties
        blocks = [self._blocks[int(p)] for p in people]
        starts = np.cumsum([0, *(len(b) for b in blocks[:-1])])
        sims = np.maximum.reduceat(np.concatenate(blocks) @ query, starts)
        top = np.argsort(-sims, kind="stable")[:k]
        return [Match(int(people[j]), self.names[int(people[j])], float(sims[j])) for j in top]

    def arrays(self) -> tuple[IntArray, IntArray, FloatArray]:
        """``ids``, ``person_ids``, ``vectors``, grouped by person (ids ascending within)."""
        people = sorted(self._blocks)
        if not people:
            return (np.zeros(0, np.int64), np.zeros(0, np.int64),
                    np.zeros((0, self.dim), np.float32))
        order = [np.argsort(self._block_ids[p]) for p in people]
        ids = np.concatenate([self._block_ids[p][o] for p, o in zip(people, order, strict=True)])
        vectors = np.concatenate([self._blocks[p][o] for p, o in zip(people, order, strict=True)])
        owners = np.repeat(np.asarray(people, np.int64), [len(o) for o in order])
        return ids, owners, vectors

    def memory_bytes(self) -> int:
        """The embeddings, the ids and the 8-bit means (not Python's per-person overhead)."""
        return int(sum(b.nbytes for b in self._blocks.values()) + 2 * self._ids.nbytes
                   + self.people * (self.dim + 8))
