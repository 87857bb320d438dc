"""Identification latency and memory against gallery size: 1k, 100k and 1M identities (random
unit 128-d vectors, as SFace produces; the search cost depends only on size and dimension).

    python -m benchmarks.gallery_scale [--sizes 1000 100000 1000000] [--queries 200] [--json F]

Methods: exact cosine search with numpy (what ``FaceDatabase.search`` does), exact search with
faiss's ``IndexFlatIP`` (BLAS), faiss's inverted-file index ``IndexIVFFlat`` at several probe
counts, and the approximate HNSW index of usearch at two search breadths. Half the queries are
noisy copies of gallery vectors (cosine ~0.7 to their source, like a new photo of an enrolled
person) to measure the index's recall@1 against exact search; latency is per single query
(one camera frame's face), p50 and p99 over all queries, after a warm-up. Memory is the
structure's own size (vectors or index), not the process.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from benchmarks._common import print_table

T = TypeVar("T")

DIM = 128


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def make(size: int, queries: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    gallery = unit(rng.standard_normal((size, DIM), dtype=np.float32))
    src = rng.integers(0, size, queries // 2)
    near = unit(gallery[src] + 0.085 * rng.standard_normal((len(src), DIM), dtype=np.float32))
    far = unit(rng.standard_normal((queries - len(src), DIM), dtype=np.float32))
    return gallery, np.concatenate([near, far]), src


def timed(
    search: Callable[[np.ndarray], T], queries: np.ndarray
) -> tuple[list[float], list[T]]:
    """Milliseconds of each single-query ``search`` (after 5 warm-up calls), and its answers."""
    for q in queries[:5]:
        search(q)
    times, found = [], []
    for q in queries:
        t0 = time.perf_counter()
        found.append(search(q))
        times.append((time.perf_counter() - t0) * 1000)
    return times, found


def measure(size: int, n_queries: int, hnsw: bool = True) -> list[dict[str, Any]]:
    import faiss
    from usearch.index import Index

    gallery, queries, src = make(size, n_queries)
    near = len(src)
    rows = []

    def exact(q: np.ndarray) -> int:
        return int(np.argmax(gallery @ q))

    times, truth = timed(exact, queries)
    rows.append({"size": size, "method": "numpy exact", "build_s": 0.0, "times": times,
                 "recall": 1.0, "memory_mb": gallery.nbytes / 2**20})

    flat = faiss.IndexFlatIP(DIM)
    t0 = time.perf_counter()
    flat.add(gallery)
    build = time.perf_counter() - t0
    times, got = timed(lambda q: int(flat.search(q[None], 1)[1][0, 0]), queries)
    rows.append({"size": size, "method": "faiss IndexFlatIP (exact)", "build_s": build,
                 "times": times, "recall": _recall(got, truth, near),
                 "memory_mb": gallery.nbytes / 2**20})

    # inverted lists: k-means cells (trained on the gallery), search probes the nearest cells
    nlist = max(16, int(4 * np.sqrt(size)))
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(DIM), DIM, nlist, faiss.METRIC_INNER_PRODUCT)
    t0 = time.perf_counter()
    ivf.train(gallery[: min(size, 64 * nlist)])
    ivf.add(gallery)
    build = time.perf_counter() - t0
    for nprobe in IVF_NPROBE:
        ivf.nprobe = nprobe
        times, got = timed(lambda q: int(ivf.search(q[None], 1)[1][0, 0]), queries)
        rows.append({"size": size, "method": f"faiss IVFFlat nlist {nlist} nprobe {nprobe}",
                     "build_s": build, "times": times, "recall": _recall(got, truth, near),
                     "memory_mb": (gallery.nbytes + nlist * DIM * 4) / 2**20})

    if not hnsw:
        return rows
    index = Index(ndim=DIM, metric="cos", dtype="f32")
    t0 = time.perf_counter()
    index.add(np.arange(size), gallery)
    build = time.perf_counter() - t0
    for expansion in HNSW_EXPANSION:
        index.expansion_search = expansion
        times, got = timed(lambda q: int(index.search(q, 1).keys[0]), queries)
        rows.append({"size": size, "method": f"usearch HNSW expansion {expansion}",
                     "build_s": build, "times": times, "recall": _recall(got, truth, near),
                     "memory_mb": index.memory_usage / 2**20})
    return rows


#: IVF cells probed per query, and HNSW search breadths (64 is usearch's default), measured
IVF_NPROBE = (8, 32, 128)
HNSW_EXPANSION = (64, 256)


def _recall(got: Sequence[int], truth: Sequence[int], near: int) -> float:
    """Share of the near-duplicate queries whose top hit equals exact search's."""
    return sum(g == t for g, t in zip(got[:near], truth[:near], strict=True)) / max(near, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[1_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--hnsw-max", type=int, default=1_000_000,
                        help="skip the HNSW index above this size (its build is the slow part)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = []
    for size in args.sizes:
        rows += measure(size, args.queries, hnsw=size <= args.hnsw_max)
        print(f"measured {size:,}", flush=True)
    table = []
    for r in rows:
        t = sorted(r["times"])
        p99 = t[min(len(t) - 1, round(0.99 * (len(t) - 1)))]
        r["p50_ms"], r["p99_ms"] = statistics.median(t), p99
        table.append([f"{r['size']:,}", r["method"], r["p50_ms"], r["p99_ms"], r["recall"],
                      round(r["build_s"], 1), round(r["memory_mb"], 1)])
    print_table(["gallery", "method", "p50 ms", "p99 ms", "recall@1 vs exact", "build s",
                 "memory MB"], table)
    if args.json:
        for r in rows:
            del r["times"]
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
