"""A gallery of a million: identification latency, recall against exact search, build time,
memory and update cost at 10k / 100k / 1M embeddings shaped like SFace's (clusters per person),
then the same through FaceDatabase on SQLite and on a real PostgreSQL server.

    python -m benchmarks.gallery_million [--sizes 10000 100000 1000000] [--queries 400]
        [--db-sizes 1000000] [--postgres URL|auto|none] [--json F]

Embeddings (``clustered``): 1-9 photos a person (5 on average: 1M embeddings = 200k people).
A person's centre is drawn on the 128-d sphere from a Gaussian with a mildly decaying spectrum
(variance 1/(1 + i/32) along axis i: real embeddings are not isotropic); a photo is the centre
plus isotropic noise of norm s ~ U(0.4, 1.3), renormalised. Two photos of one person then have
cosine 0.33-0.83 (1st-99th percentile, median 0.59) and different people 0.0 +- 0.09, as SFace
(same person mostly 0.3-0.9, others under 0.3: docs/benchmarks.md, verification). The figures
were fixed before any index was measured on them. Queries: a new photo of an enrolled person
(90%) or of a stranger (10%). recall@1: share of queries whose top person is exact search's;
"decision": share whose answer at recognition.threshold 0.333 (that person, or unknown) is the
same. Latency per single query (one face), p50/p99 after a warm-up; faiss on one thread,
numpy with its default BLAS threads (as facetrack runs them).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._common import print_table
from benchmarks.gallery_scale import timed

DIM = 128
THRESHOLD = 0.333
MODEL = "bench-model:000000000000"


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def photos(rng: np.random.Generator, centres: np.ndarray) -> np.ndarray:
    spread = rng.uniform(0.4, 1.3, (len(centres), 1)).astype(np.float32)
    noise = rng.standard_normal(centres.shape, dtype=np.float32) / np.sqrt(DIM)
    return unit(centres + spread * noise)


def clustered(size: int, queries: int, seed: int = 0) -> dict[str, np.ndarray]:
    """``vectors``, ``person_ids`` (grouped, from 1), ``queries``, ``centres``."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 10, size // 2)
    counts = counts[np.cumsum(counts) <= size]
    counts = np.r_[counts, size - counts.sum()] if counts.sum() < size else counts
    spectrum = (1.0 / (1.0 + np.arange(DIM) / 32.0)).astype(np.float32)
    centres = unit(rng.standard_normal((len(counts) + queries, DIM), dtype=np.float32)
                   * np.sqrt(spectrum))
    person_ids = np.repeat(np.arange(1, len(counts) + 1), counts)
    vectors = photos(rng, centres[person_ids - 1])
    known = rng.integers(0, len(counts), queries - queries // 10)
    strangers = len(counts) + np.arange(queries // 10)
    asked = photos(rng, centres[np.r_[known, strangers]])
    return {"vectors": vectors, "person_ids": person_ids.astype(np.int64), "queries": asked,
            "centres": centres[: len(counts)]}


def row(size: int, method: str, build: float, memory: float, times: list[float],
        got: list[tuple[int, float]], truth: list[tuple[int, float]], **extra: Any
        ) -> dict[str, Any]:
    t = sorted(times)
    same = [g[0] == e[0] for g, e in zip(got, truth, strict=True)]
    decided = [(g[0] if g[1] >= THRESHOLD else -1) == (e[0] if e[1] >= THRESHOLD else -1)
               for g, e in zip(got, truth, strict=True)]
    return {"size": size, "method": method, "p50_ms": statistics.median(t),
            "p99_ms": t[min(len(t) - 1, round(0.99 * (len(t) - 1)))],
            "recall": float(np.mean(same)), "decision": float(np.mean(decided)),
            "build_s": build, "memory_mb": memory / 2**20, **extra}


def measure(size: int, n_queries: int, hnsw_max: int) -> list[dict[str, Any]]:
    import faiss
    from usearch.index import Index

    from facetrack.recognition.ann import PersonIndex

    d = clustered(size, n_queries)
    g, pid, queries = d["vectors"], d["person_ids"], d["queries"]
    starts = np.flatnonzero(np.r_[True, pid[1:] != pid[:-1]])
    people = pid[starts]
    rows = []

    def exact(q: np.ndarray) -> tuple[int, float]:
        per_person = np.maximum.reduceat(g @ q, starts)
        j = int(np.argmax(per_person))
        return int(people[j]), float(per_person[j])

    times, truth = timed(exact, queries)
    rows.append(row(size, "numpy exact", 0.0, g.nbytes, times, truth, truth))

    def rerank(q: np.ndarray, candidates: np.ndarray) -> tuple[int, float]:
        best = (-1, -2.0)
        for j in candidates[candidates >= 0]:
            s = float((g[starts[j]:_end(starts, j, len(g))] @ q).max())
            best = (int(people[j]), s) if s > best[1] else best
        return best

    t0 = time.perf_counter()
    index = PersonIndex(DIM, {int(p): str(p) for p in people})
    index.add(np.arange(len(g)), pid, g)
    build = time.perf_counter() - t0
    times, got = timed(lambda q: _first(index.search(q[None], 1)), queries)
    extra = update_cost(index, d["centres"])
    rows.append(row(size, "facetrack approximate (PQ fast scan, 64 re-ranked)", build,
                    index.memory_bytes(), times, got, truth, **extra))

    nlist = max(16, int(np.sqrt(size)))
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(DIM), DIM, nlist, faiss.METRIC_INNER_PRODUCT)
    t0 = time.perf_counter()
    ivf.train(g[np.random.default_rng(1).choice(size, min(size, 40 * nlist), replace=False)])
    ivf.add(g)
    build = time.perf_counter() - t0
    for nprobe in (nlist // 16, nlist // 4):
        ivf.nprobe = max(1, nprobe)
        times, got = timed(lambda q: _ivf_top(ivf, q, pid), queries)
        rows.append(row(size, f"faiss IVFFlat embeddings nlist {nlist} nprobe {ivf.nprobe}",
                        build, g.nbytes + nlist * DIM * 4, times, got, truth))

    # the first design tried: an 8-bit scan of people's mean embeddings, 32 re-ranked exactly
    means = unit(np.add.reduceat(g, starts, axis=0))
    sq = faiss.IndexScalarQuantizer(DIM, faiss.ScalarQuantizer.QT_8bit_uniform,
                                    faiss.METRIC_INNER_PRODUCT)
    t0 = time.perf_counter()
    sq.train(np.stack([np.ones(DIM), -np.ones(DIM)]).astype(np.float32))
    sq.add(means)
    build = time.perf_counter() - t0
    times, got = timed(lambda q: rerank(q, sq.search(q[None], 32)[1][0]), queries)
    rows.append(row(size, "faiss 8-bit scan of people's means, 32 re-ranked", build,
                    g.nbytes + means.nbytes // 4, times, got, truth))

    if size <= hnsw_max:  # usearch HNSW over people's means, re-ranked the same way
        hnsw = Index(ndim=DIM, metric="ip", dtype="f32")
        t0 = time.perf_counter()
        hnsw.add(np.arange(len(means)), means, threads=1)
        build = time.perf_counter() - t0
        for expansion in (64, 256):
            hnsw.expansion_search = expansion
            times, got = timed(lambda q: rerank(q, hnsw.search(q, 32).keys.astype(np.int64)),
                               queries)
            rows.append(row(size, f"usearch HNSW means expansion {expansion} + re-rank 32",
                            build, hnsw.memory_usage + g.nbytes, times, got, truth))
    return rows


def _end(starts: np.ndarray, j: int, m: int) -> int:
    return int(starts[j + 1]) if j + 1 < len(starts) else m


def _first(matches: list[list[Any]]) -> tuple[int, float]:
    return (matches[0][0].person_id, matches[0][0].similarity) if matches[0] else (-1, -2.0)


def _ivf_top(ivf: Any, q: np.ndarray, pid: np.ndarray) -> tuple[int, float]:
    sims, found = ivf.search(q[None], 1)
    return (int(pid[found[0, 0]]), float(sims[0, 0])) if found[0, 0] >= 0 else (-1, -2.0)


def update_cost(index: Any, centres: np.ndarray) -> dict[str, float]:
    """ms to enrol one new person (5 photos) and to remove one person, in place."""
    rng = np.random.default_rng(7)
    new_ids = np.arange(10**9, 10**9 + 5)
    t0 = time.perf_counter()
    index.add(new_ids, np.full(5, 10**9), photos(rng, np.repeat(centres[:1], 5, axis=0)))
    add_ms = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    index.remove(new_ids)
    return {"add_ms": add_ms, "remove_ms": (time.perf_counter() - t0) * 1000}


# -- through FaceDatabase -----------------------------------------------------------------


def fill(target: str, d: dict[str, np.ndarray]) -> float:
    """Write the gallery with one bulk insert (an import's rows, without its checks)."""
    import sqlalchemy as sa

    from facetrack.recognition.gallery import FaceDatabase
    from facetrack.recognition.schema import embeddings, people
    from facetrack.recognition.writer import bump_revision

    g, pid = d["vectors"], d["person_ids"]
    t0 = time.perf_counter()
    with FaceDatabase(target, key=None) as db:
        db.enroll("seed", g[:1], MODEL)  # binds the model
        with db._write() as conn:
            conn.execute(sa.insert(people), [{"name": f"person {p}", "created": "2026-01-01"}
                                             for p in np.unique(pid)])
            ids = {r[0]: r[1] for r in conn.execute(sa.select(people.c.name, people.c.id))}
            person = {int(p): ids[f"person {p}"] for p in np.unique(pid)}
            for lo in range(0, len(g), 50_000):
                conn.execute(sa.insert(embeddings), [
                    {"person_id": person[int(p)], "vector": v.astype("<f4").tobytes(),
                     "quality": 1.0, "created": "2026-01-01"}
                    for p, v in zip(pid[lo:lo + 50_000], g[lo:lo + 50_000], strict=True)])
            bump_revision(conn)
    return time.perf_counter() - t0


def through_database(label: str, target: str, d: dict[str, np.ndarray]) -> dict[str, Any]:
    from facetrack.recognition.gallery import FaceDatabase

    write_s = fill(target, d)
    queries = d["queries"]
    with FaceDatabase(target, key=None, read_only=True) as db, \
            FaceDatabase(target, key=None) as writer:
        t0 = time.perf_counter()
        db.search(queries[:1], MODEL)
        load_s = time.perf_counter() - t0
        times, _ = timed(lambda q: _first(db.search(q[None], MODEL)), queries)
        writer.enroll("newcomer", d["vectors"][:3] * -1, MODEL)
        t0 = time.perf_counter()
        found = _first(db.search(-d["vectors"][:1], MODEL))
        enrol_sync_ms = (time.perf_counter() - t0) * 1000
        writer.remove("newcomer")
        t0 = time.perf_counter()
        gone = _first(db.search(-d["vectors"][:1], MODEL))
        remove_sync_ms = (time.perf_counter() - t0) * 1000
        kind = type(db._search._index).__name__
    assert found[1] > 0.999 and gone[1] < 0.999, (found, gone)
    t = sorted(times)
    return {"database": label, "embeddings": len(d["vectors"]), "index": kind,
            "write_s": write_s, "load_s": load_s, "p50_ms": statistics.median(t),
            "p99_ms": t[min(len(t) - 1, round(0.99 * (len(t) - 1)))],
            "sync_after_enrol_ms": enrol_sync_ms, "sync_after_remove_ms": remove_sync_ms}


def databases(sizes: list[int], n_queries: int, postgres: str) -> list[dict[str, Any]]:
    from tests.integration.servers import PostgresServer, fresh_database

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        server = None
        if postgres == "auto":
            (Path(tmp) / "pg").mkdir()
            server = PostgresServer(Path(tmp) / "pg")
            postgres = server.url
        try:
            for size in sizes:
                d = clustered(size, n_queries, seed=1)
                out.append(through_database("SQLite", str(Path(tmp) / f"g{size}.db"), d))
                print(f"SQLite {size:,} done", flush=True)
                if postgres != "none":
                    out.append(through_database("PostgreSQL", fresh_database(postgres), d))
                    print(f"PostgreSQL {size:,} done", flush=True)
        finally:
            if server is not None:
                server.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="*", type=int, default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--db-sizes", nargs="*", type=int, default=[1_000_000])
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--hnsw-max", type=int, default=100_000,
                        help="skip HNSW above this size (its build is the slow part)")
    parser.add_argument("--postgres", default="auto",
                        help="server URL, auto (a temporary Debian PostgreSQL) or none")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    import faiss

    faiss.omp_set_num_threads(1)
    rows = []
    for size in args.sizes:
        rows += measure(size, args.queries, args.hnsw_max)
        print(f"measured {size:,}", flush=True)
    if rows:
        print_table(["gallery", "method", "p50 ms", "p99 ms", "recall@1 vs exact", "decision",
                     "build s", "memory MB", "add person ms", "remove person ms"],
                    [[f"{r['size']:,}", r["method"], r["p50_ms"], r["p99_ms"], r["recall"],
                      r["decision"], round(r["build_s"], 1), round(r["memory_mb"], 1),
                      r.get("add_ms", ""), r.get("remove_ms", "")] for r in rows])
    dbs = databases(args.db_sizes, args.queries, args.postgres)
    if dbs:
        print_table(list(dbs[0]), [[round(v, 3) if isinstance(v, float) else v
                                    for v in r.values()] for r in dbs])
    if args.json:
        args.json.write_text(json.dumps({"indexes": rows, "databases": dbs}, indent=1))


if __name__ == "__main__":
    main()
