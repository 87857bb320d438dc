"""The approximate search index for large galleries: a fast scan of compact codes of every
embedding picks a shortlist, whose people are re-ranked exactly over all their embeddings.

Why this shape (docs/benchmarks.md, "A gallery of a million"): at 1M embeddings exact search
reads 488 MB a query (23 ms). faiss's inverted lists (IVF) over the embeddings, and an HNSW
graph (usearch, measured to 100k) or an 8-bit scan of people's mean embeddings, missed exact
search's answer on 1-11% of queries at the settings that stay under 5 ms: a new photo of a
person (cosine 0.3-0.9 to their others) is no near-duplicate, and a stranger's nearest
embedding is anywhere. faiss's
product-quantisation fast scan (``IndexPQFastScan``: 64 sub-vectors of 2 dimensions, 4 bits
each, 32 bytes an embedding) reads 32 MB with SIMD lookups; the 64 best embeddings' people are
then re-ranked exactly (their best embedding's cosine), so the returned person and similarity
are always exact ones; only the shortlist is approximate.

The index is changed in place by embedding id (``add``/``remove``): a removed embedding is gone
from the next search. The codebooks are trained once, on a sample of the embeddings (padded with
random unit vectors when there are few), and again, re-encoding everything, each time the index
has grown fourfold since.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np

from facetrack.errors import ConfigError
from facetrack.recognition.index import FloatArray, IntArray, Match

log = logging.getLogger(__name__)

#: embeddings shortlisted by the code scan; their people are re-ranked exactly
SHORTLIST = 64
#: product quantiser: sub-vectors of 2 dimensions, 4-bit codes (faiss's fast-scan layout)
SUB_DIM, BITS = 2, 4
#: embeddings the codebooks are trained on (at most; padded with random unit vectors to the min)
TRAIN_MAX, TRAIN_MIN = 65_536, 1_024


def load_faiss() -> Any:
    """faiss, or a one-line error naming the extra that installs it."""
    try:
        import faiss  # type: ignore[import-not-found,unused-ignore]
    except ImportError as e:
        raise ConfigError("recognition.index: approximate search needs faiss: "
                          "pip install 'facetrack[large-gallery]'") from e
    return faiss


def _training_sample(vectors: FloatArray, dim: int) -> FloatArray:
    rng = np.random.default_rng(0)  # the same codebooks for the same gallery
    if len(vectors) > TRAIN_MAX:
        vectors = vectors[rng.choice(len(vectors), TRAIN_MAX, replace=False)]
    if len(vectors) < TRAIN_MIN:
        pad = rng.standard_normal((TRAIN_MIN - len(vectors), dim)).astype(np.float32)
        vectors = np.concatenate([vectors, pad / np.linalg.norm(pad, axis=1, keepdims=True)])
    return np.ascontiguousarray(vectors, np.float32)


class PersonIndex:
    """People's embeddings (exact, float32, per person) and faiss's code scan over all of
    them. ``shortlist``: embeddings whose people are re-ranked exactly per query (more: slower,
    closer to exact; at least the number of embeddings gives exact search's answers)."""

    def __init__(self, dim: int, names: Mapping[int, str], *, shortlist: int = SHORTLIST
                 ) -> None:
        if dim % SUB_DIM:
            raise ConfigError(f"recognition.index: approximate search needs an even "
                              f"embedding size, got {dim}")
        self._faiss_module = load_faiss()
        self.dim, self.shortlist = dim, shortlist
        self.names: Mapping[int, str] = names
        self._blocks: dict[int, FloatArray] = {}  # person -> (n, dim) embeddings
        self._block_ids: dict[int, IntArray] = {}  # person -> (n,) embedding ids
        self._ids = np.zeros(0, np.int64)  # every embedding id, sorted
        self._owners = np.zeros(0, np.int64)  # the person of each id
        self._codes: Any = None  # faiss index of the codes, by embedding id
        self._trained_on = 0

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
        order = np.lexsort((ids, person_ids))
        ids, person_ids, vectors = ids[order], person_ids[order], vectors[order]
        starts = np.flatnonzero(np.r_[True, person_ids[1:] != person_ids[:-1]])
        ends = np.r_[starts[1:], len(ids)]
        for p, s, e in zip(person_ids[starts].tolist(), starts, ends, strict=True):
            block, block_ids = vectors[s:e], ids[s:e]  # views of one copy, for a whole load
            if p in self._blocks:
                block = np.concatenate([self._blocks[p], block])
                block_ids = np.concatenate([self._block_ids[p], block_ids])
            if len(block_ids) > 1 and (block_ids[1:] < block_ids[:-1]).any():
                by_id = np.argsort(block_ids)  # each block stays in id order
                block, block_ids = block[by_id], block_ids[by_id]
            self._blocks[p], self._block_ids[p] = block, block_ids
        all_ids = np.concatenate([self._ids, ids])
        owners = np.concatenate([self._owners, person_ids])
        by_id = np.argsort(all_ids, kind="stable")
        self._ids, self._owners = all_ids[by_id], owners[by_id]
        if self._codes is None or len(self) >= 4 * self._trained_on:
            self._train()  # encodes everything
        else:
            self._codes.add_with_ids(np.ascontiguousarray(vectors, np.float32), ids)

    def remove(self, ids: IntArray) -> None:
        """Remove embeddings by id (unknown ids are ignored); a person left with none is gone."""
        hit = np.isin(self._ids, ids)
        if not hit.any():
            return
        gone = self._ids[hit]
        for p in np.unique(self._owners[hit]).tolist():
            keep = ~np.isin(self._block_ids[p], gone)
            self._blocks[p], self._block_ids[p] = self._blocks[p][keep], self._block_ids[p][keep]
            if not keep.any():
                del self._blocks[p], self._block_ids[p]
        self._ids, self._owners = self._ids[~hit], self._owners[~hit]
        self._codes.remove_ids(gone)

    def _train(self) -> None:
        """Train the codebooks on (a sample of) every embedding and encode them all."""
        faiss = self._faiss_module
        ids, _, vectors = self.arrays()
        quantiser = faiss.IndexPQFastScan(self.dim, self.dim // SUB_DIM, BITS,
                                          faiss.METRIC_INNER_PRODUCT)
        quantiser.train(_training_sample(vectors, self.dim))
        codes = faiss.IndexIDMap2(quantiser)
        codes.add_with_ids(vectors, ids)
        self._codes, self._trained_on = codes, max(len(ids), TRAIN_MIN // 4)
        log.debug("search codebooks trained on %d embeddings", len(ids))

    def search(self, queries: FloatArray, k: int) -> list[list[Match]]:
        """For each query row, the ``k`` most similar people (exact cosine of their best
        embedding), best first, among the people of the shortlist."""
        if not self._blocks or len(queries) == 0:
            return [[] for _ in range(len(queries))]
        n = min(max(self.shortlist, k), len(self))
        _, found = self._codes.search(np.ascontiguousarray(queries, np.float32), n)
        return [self._rerank(q, row, k) for q, row in zip(queries, found, strict=True)]

    def _rerank(self, query: FloatArray, found: IntArray, k: int) -> list[Match]:
        found = found[found >= 0]
        people = np.unique(self._owners[np.searchsorted(self._ids, found)])  # exact's ties
        blocks = [self._blocks[p] for p in people.tolist()]
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
        # no per-person temporaries: 200k small arrays would stay in the heap after use
        ids = np.concatenate([self._block_ids[p] for p in people])
        vectors = np.concatenate([self._blocks[p] for p in people])
        owners = np.repeat(np.asarray(people, np.int64), [len(self._block_ids[p]) for p in people])
        return ids, owners, np.ascontiguousarray(vectors, np.float32)

    def memory_bytes(self) -> int:
        """The embeddings, their ids (twice) and their codes (not Python's per-person
        overhead)."""
        per_code = self.dim // SUB_DIM * BITS // 8
        return int(sum(b.nbytes for b in self._blocks.values())
                   + len(self) * (2 * 8 + 8 + per_code))
