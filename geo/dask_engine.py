"""`marsad ingest --engine dask`: parse articles in parallel on a Dask cluster.

The driver (this process) reads the files, skips the articles already stored by the current
pipeline version, and ships the rest, as plain dicts, in partitions to the workers
(`process_partition`, which runs `geo.pipeline.process_article` on each). It writes every
returned result itself, through the same `Ingester.write` / `store.write_article` as the local
engine, so the store gets the same rows (event ids, incidents) and keeps its guarantees. A
returned partition is written in one transaction with each article in its own savepoint
(`store.transaction()` nests): one commit per batch instead of one per article, each article
still all or nothing; a crash loses only the uncommitted batch, which the next run writes again.

Workers are processes (the pipeline is pure Python, bound by the GIL): a `distributed.LocalCluster`
of one single-threaded worker per core, or the cluster of `--scheduler`. Every worker must run
the same Marsad (pipeline version) and load the same gazetteer as the driver: each partition
reports both and a mismatch stops the ingest before anything of it is written.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import socket
import sys
import time
import warnings
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Self

from tqdm import tqdm

from geo.articles import Article, Skipped, expand_paths, read_file
from geo.events import content_hash

PARTITIONS_PER_THREAD = 4  # the default: a few partitions per worker thread ...
MAX_PARTITION = 500  # ... and more for big inputs, so that writing overlaps parsing
WRITE_BATCH = 500  # articles per transaction in the driver
CONNECT_TIMEOUT = 10  # seconds to reach a --scheduler


class EngineError(Exception):
    """The cluster cannot be used or failed; the message is one line for the user."""


def require_distributed():
    try:
        import distributed
    except ImportError:
        raise EngineError("the dask engine needs Dask: pip install 'marsad[dask]'") from None
    return distributed


# -- worker side ---------------------------------------------------------------------------------
@lru_cache(maxsize=4)
def gazetteer_fingerprint(gazetteer) -> str:
    """A digest of the gazetteer's records: driver and workers must use the same one."""
    h = hashlib.sha1()
    for place in gazetteer.places:
        h.update(json.dumps(place.to_dict(), sort_keys=True, ensure_ascii=False).encode("utf-8"))
    return h.hexdigest()[:16]


def worker_address() -> str:
    """The address of the Dask worker running this code (host:pid outside a worker)."""
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return f"{socket.gethostname()}:{os.getpid()}"


def process_partition(items: list[dict], gazetteer_path: str | None = None,
                      prepare: bool = True) -> dict:
    """Run on a worker: `process_article` over `items` ({key, doc, text, published}), and
    `geo.ingest.prepare` when `prepare`. An article the pipeline fails on comes back as
    `{"key", "error"}`; the others as `{"key", "id", "parsed"}`. Also returns the worker's
    address, pipeline version, gazetteer fingerprint and the seconds spent."""
    from geo import pipeline
    from geo.ingest import prepare as prepare_parsed

    start = time.perf_counter()
    gaz = pipeline.default_gazetteer(gazetteer_path)
    results = []
    for item in items:
        try:
            out = pipeline.process_article(item, gaz)
            parsed = prepare_parsed(out["parsed"], gaz) if prepare else out["parsed"]
            results.append({"key": item["key"], "id": out["id"], "parsed": parsed})
        except Exception as exc:  # noqa: BLE001 -- one article must not take the partition down
            results.append({"key": item["key"], "error": f"{type(exc).__name__}: {exc}"})
    return {"worker": worker_address(), "results": results,
            "pipeline_version": str(pipeline.PIPELINE_VERSION),
            "gazetteer": gazetteer_fingerprint(gaz), "seconds": time.perf_counter() - start}


# -- driver side ---------------------------------------------------------------------------------
def default_partitions(articles: int, threads: int) -> int:
    return max(PARTITIONS_PER_THREAD * max(threads, 1), math.ceil(articles / MAX_PARTITION))


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _check_reachable(address: str) -> None:
    """Fail fast, and without distributed's noise, on an address that takes no connection."""
    from distributed.comm import parse_address, parse_host_port

    try:
        scheme, loc = parse_address(address)
        host, port = parse_host_port(loc)
    except ValueError as exc:
        raise EngineError(f"{address!r} is not a Dask scheduler address "
                          f"(tcp://HOST:PORT): {exc}") from None
    if scheme != "tcp":
        return  # tls, ws, ...: let the client try
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT).close()
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise EngineError(f"cannot reach the Dask scheduler at {address}: {reason}") from None


class DaskEngine:
    """A Dask client for one ingest: `with DaskEngine(...) as engine: engine.run(ingester,
    paths)`. With `scheduler` it connects on entering (fail fast); without, it starts a
    LocalCluster of `workers` processes (one per core) when there is something to parse."""

    def __init__(self, scheduler: str | None = None, *, partitions: int | None = None,
                 workers: int | None = None, gazetteer_path: str | None = None):
        require_distributed()
        if partitions is not None and partitions < 1:
            raise ValueError("partitions must be at least 1")
        self.scheduler = scheduler
        self.partitions = partitions
        self.workers = workers
        # workers open it by this path: a local cluster's run where the driver runs, other
        # machines need the file at the same absolute path
        self.gazetteer_path = os.path.abspath(gazetteer_path) if gazetteer_path else None
        self.client = None
        self.cluster = None
        self.startup = 0.0

    def __enter__(self) -> Self:
        if self.scheduler:
            self.connect()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def connect(self):
        if self.client is not None:
            return self.client
        from distributed import Client, LocalCluster

        start = time.perf_counter()
        if self.scheduler:
            _check_reachable(self.scheduler)
            try:
                self.client = Client(self.scheduler, timeout=CONNECT_TIMEOUT,
                                     set_as_default=False)
            except (OSError, ValueError) as exc:
                _quiet_collect()
                raise EngineError(f"cannot use the Dask scheduler at {self.scheduler}: "
                                  f"{' '.join(str(exc).split())}") from None
        else:
            self.cluster = LocalCluster(n_workers=self.workers or _cores(), threads_per_worker=1,
                                        processes=True, dashboard_address=":0",
                                        silence_logs=logging.ERROR)
            self.client = Client(self.cluster, set_as_default=False)
            # this process writes every result and shares the cores with the workers: when it
            # waits for a core, the whole ingest waits, so the workers give way to it
            self.client.run(_lower_priority)
        self.startup = time.perf_counter() - start
        return self.client

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
        self.client = self.cluster = None

    # -- the ingest ------------------------------------------------------------------------------
    def run(self, ing, paths: list[str | Path], *, reprocess: bool = False,
            progress: bool = False) -> None:
        """Ingest `paths` (and the stored articles to process again) through `ing`, an
        `geo.ingest.Ingester` on the store; the summary gets the workers and the timings."""
        s = ing.summary
        s.engine = "dask"
        start = time.perf_counter()
        todo, dups = self._collect(ing, paths, reprocess, progress)
        s.timings["read"] = time.perf_counter() - start
        if not todo:
            return
        client = self.connect()
        s.timings["startup"] = self.startup
        threads = sum(client.nthreads().values())
        n = min(self.partitions or default_partitions(len(todo), threads), len(todo))
        chunks = [range(i * len(todo) // n, (i + 1) * len(todo) // n) for i in range(n)]
        prepare_on_workers = ing.regions is None  # custom regions: prepared here
        from distributed import as_completed

        from geo.ingest import current_pipeline_version

        sent = time.perf_counter()
        with warnings.catch_warnings():  # the texts are shipped on purpose: the driver checks
            warnings.filterwarnings("ignore", message="Sending large graph")  # the store first
            futures = [client.submit(process_partition,
                                     [self._payload(k, todo[k][1]) for k in chunk],
                                     self.gazetteer_path, prepare_on_workers, pure=False)
                       for chunk in chunks]
        s.partitions = n
        want = (current_pipeline_version(), gazetteer_fingerprint(ing.gazetteer))
        workers: Counter[str] = Counter()
        write = worker = 0.0
        pending = set(futures)  # a result is dropped from the cluster once it is written
        done = as_completed(futures, loop=client.loop)
        del futures
        try:
            with tqdm(total=n, desc="parsing on cluster", unit="partition", file=sys.stderr,
                      disable=not progress) as bar:
                for fut in done:
                    pending.discard(fut)
                    out = self._result(fut)
                    del fut
                    self._check(out, want)
                    workers[out["worker"]] += len(out["results"])
                    worker += out["seconds"]
                    t = time.perf_counter()
                    self._write(ing, todo, dups, out["results"], prepared=prepare_on_workers)
                    write += time.perf_counter() - t
                    bar.update(1)
        finally:
            if pending:  # stopped early: nothing more to compute
                client.cancel(list(pending))
        s.workers = dict(workers)
        s.timings.update({"cluster": time.perf_counter() - sent, "worker": worker,
                          "write": write})

    @staticmethod
    def _payload(key: int, article: Article) -> dict:
        return {"key": key, "doc": article.doc, "text": article.text,
                "published": article.published}

    @staticmethod
    def _collect(ing, paths, reprocess: bool, progress: bool):
        """(todo, dups): the articles to parse as (article id, article, force), stored ones of
        another version (or all with `reprocess`) first; and, by todo index, later articles
        with the same text (they count as the local engine counts them, without a parse)."""
        from geo.ingest import _as_article

        s = ing.summary
        todo: list[tuple[str, Article, bool]] = []
        first: dict[str, int] = {}
        dups: dict[int, list[Article]] = {}
        for stored in ing.store.stored_articles(None if reprocess else ing.version):
            first[stored.id] = len(todo)
            todo.append((stored.id, _as_article(stored), True))
        files = []
        for p in expand_paths(list(paths)):
            (s.skipped if isinstance(p, Skipped) else files).append(p)
        for path in tqdm(files, desc="reading", unit="file", file=sys.stderr,
                         disable=not progress):
            for item in read_file(path):
                if isinstance(item, Skipped):
                    s.skipped.append(item)
                    continue
                article_id = content_hash(item.text)
                if article_id in first:
                    dups.setdefault(first[article_id], []).append(item)
                elif ing.store.article_version(article_id) == ing.version:
                    s.unchanged += 1
                else:
                    first[article_id] = len(todo)
                    todo.append((article_id, item, False))
        return todo, dups

    @staticmethod
    def _result(fut) -> dict:
        try:
            return fut.result()
        except Exception as exc:  # noqa: BLE001 -- the task failed: a worker died, ...
            msg = " ".join(str(exc).split()) or type(exc).__name__
            raise EngineError(f"a partition failed on the cluster ({type(exc).__name__}: "
                              f"{msg[:300]}); the articles written before it are stored, run "
                              "the same command again to finish") from None

    @staticmethod
    def _check(out: dict, want: tuple[str, str]) -> None:
        version, gaz = want
        if out["pipeline_version"] != version:
            raise EngineError(f"worker {out['worker']} runs pipeline version "
                              f"{out['pipeline_version']}, this process {version}: install the "
                              "same marsad version on every worker")
        if out["gazetteer"] != gaz:
            raise EngineError(f"worker {out['worker']} loaded another gazetteer than this "
                              "process (a user gazetteer in its $MARSAD_HOME, or another "
                              "--gazetteer file): give every machine the same one")

    @staticmethod
    def _write(ing, todo, dups, results: list[dict], *, prepared: bool) -> None:
        """Write returned results, `WRITE_BATCH` articles per transaction."""
        for start in range(0, len(results), WRITE_BATCH):
            with ing.store.transaction():
                for r in results[start:start + WRITE_BATCH]:
                    article_id, article, force = todo[r["key"]]
                    if "error" in r:
                        status = ing.fail(article, r["error"])
                    elif r["id"] != article_id:  # never, unless a worker corrupts the text
                        status = ing.fail(article, "the worker returned another article")
                    else:
                        status = ing.write(article_id, article, r["parsed"], force=force,
                                           prepared=prepared)
                    for dup in dups.pop(r["key"], ()):
                        if status == "failed":  # the local engine would fail on it again
                            ing.summary.failed.append(
                                Skipped(dup.doc, ing.summary.failed[-1].reason))
                        else:
                            ing.summary.unchanged += 1


def _lower_priority() -> None:
    try:
        os.nice(10)
    except (AttributeError, OSError):  # not on this platform
        pass


def _quiet_collect() -> None:
    """Collect a half-made distributed Client without its __del__ printing a traceback."""
    import gc

    hook = sys.unraisablehook
    sys.unraisablehook = lambda *_: None
    try:
        gc.collect()
    finally:
        sys.unraisablehook = hook
