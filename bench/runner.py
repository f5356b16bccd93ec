"""One backend, start to end: data, inputs, SQL timings, then every wrk run on one server."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from bench import datasets, sampling, server, settle, sqltiming, workloads, wrk
from bench.options import Options
from bench.queries import SearchClass, search_classes
from bench.results import BackendResult, ClassResult, WorkerMemory, WorkloadResult
from bench.workloads import CEILING, WORKLOADS, Inputs

ID_SAMPLE = 10_000
WORD_SAMPLE = 5_000
SQL_BUDGET_S = 2.0
WARM_UP = workloads.WORKLOADS[-1]


@contextmanager
def _progress(console: Console, *, total: float, what: str) -> Iterator[tuple[Progress, TaskID]]:
    with Progress(
        TextColumn("{task.description:<44}"),
        BarColumn(),
        MofNCompleteColumn() if what == "queries" else TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.fields[note]}"),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        console=console,
    ) as progress:
        yield progress, progress.add_task(what, total=total, note="")


def _search(base_url: str, token: str, body: dict[str, Any]) -> int:
    """TotalHits of one search; anything but 200 stops the run, before any load."""
    request = urllib.request.Request(
        f"{base_url}/api/cases/search",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return int(json.load(response)["TotalHits"])


def _sql_timings(
    dataset: datasets.Dataset, classes: list[SearchClass], console: Console, budget_s: float
) -> list[sqltiming.SqlTiming]:
    engine = datasets.engine_for(dataset.url)
    timings = []
    try:
        with _progress(console, total=len(classes), what="queries") as (progress, task):
            for item in classes:
                progress.update(task, description=f"{dataset.backend}: SQL {item.name}")
                timing = sqltiming.time_search(
                    engine, item.body, tenant_id=dataset.tenant_id, budget_s=budget_s
                )
                timings.append(timing)
                progress.update(task, advance=1, note=f"{timing.p50_ms:,.1f} ms")
    finally:
        engine.dispose()
    return timings


PACED_MAX_GAP_S = 3.0


@dataclass
class _Load:
    """The wrk runs against one server, each advancing one time-based progress bar."""

    wrk_path: str
    options: Options
    server: server.Server
    env: dict[str, str]
    progress: Progress
    task: TaskID
    done_s: float = 0.0

    def run(
        self, label: str, script: str, *, connections: int, duration: int, **env: str
    ) -> wrk.WrkResult:
        self.progress.update(self.task, description=label)
        result = wrk.run(
            self.wrk_path,
            url=self.server.base_url,
            script=script,
            connections=connections,
            duration=duration,
            env={**self.env, **env},
            tick=lambda elapsed: self.progress.update(
                self.task, completed=self.done_s + min(elapsed, duration)
            ),
        )
        self.done_s += duration
        self.progress.update(
            self.task,
            completed=self.done_s,
            note=f"{result.rate:,.0f} req/s, {result.errors} err; waiting for quiet",
        )
        self.server.trim_log()
        settle.until_quiet(self.options.settle_seconds)
        return result

    def workload(self, backend: str, item: workloads.Workload) -> WorkloadResult:
        connections, duration = self.options.connections, self.options.duration
        saturated = self.run(
            f"{backend}: {item.name}", item.script, connections=connections, duration=duration
        )
        if saturated.requests == 0:
            raise wrk.BenchError(f"{item.name}: no request completed in {duration} s")
        target = saturated.rate / 2
        # Each paced connection waits up to 1.5 x connections / target between requests:
        # slow workloads get fewer connections, so that no wait reaches the server's
        # keep-alive timeout (5 s), after which it closes the connection and wrk counts
        # socket errors that no real client would see.
        paced_connections = max(1, min(connections, int(target * PACED_MAX_GAP_S / 1.5)))
        paced = self.run(
            f"{backend}: {item.name} at {target:,.0f} req/s",
            item.script,
            connections=paced_connections,
            duration=duration,
            BENCH_DELAY_MS=f"{paced_connections / target * 1000:.3f}",
        )
        return WorkloadResult(item, saturated, target, paced)


def run_backend(backend: str, options: Options, wrk_path: str, console: Console) -> BackendResult:
    dataset = datasets.prepare(backend, options, console)
    ids = [
        c.id
        for c in sampling.sample(
            dataset.url, tenant_id=dataset.tenant_id, count=ID_SAMPLE, seed=options.seed
        )
    ]
    classes = search_classes(
        sampling.sample(
            dataset.url, tenant_id=dataset.tenant_id, count=WORD_SAMPLE, seed=options.seed + 1
        )
    )
    run_dir = options.data_dir / f"run-{backend}"
    inputs: Inputs = workloads.write_inputs(run_dir, ids=ids, classes=classes)
    budget = min(SQL_BUDGET_S, options.class_duration / 4)
    timings = _sql_timings(dataset, classes, console, budget)
    client_id, secret = server.create_user(dataset.url)
    with server.serving(dataset.url, log_path=run_dir / "serve.log") as live:
        token = server.token(live.base_url, client_id, secret)
        hits = [_search(live.base_url, token, item.body) for item in classes]
        first_workers = server.worker_pids(live.pid)
        planned = (2 * len(WORKLOADS) + 1) * options.duration
        planned += (len(classes) + 1) * options.class_duration
        with _progress(console, total=planned, what="seconds") as (progress, task):
            load = _Load(
                wrk_path, options, live, {"BENCH_TOKEN": token, **inputs.env()}, progress, task
            )
            # Unreported: first requests fill caches and connection pools.
            load.run(
                f"{backend}: warm-up ({WARM_UP.name})",
                WARM_UP.script,
                connections=options.connections,
                duration=options.class_duration,
            )
            results = [load.workload(backend, item) for item in WORKLOADS]
            class_results = []
            for item, timing, total in zip(classes, timings, hits, strict=True):
                query = workloads.write_queries(run_dir / "class.jsonl", [item.body])
                http = load.run(
                    f"{backend}: search {item.name}",
                    "search.lua",
                    connections=options.class_connections,
                    duration=options.class_duration,
                    BENCH_QUERIES=str(query),
                )
                class_results.append(ClassResult(item, total, http, timing))
            ceiling_again = load.run(
                f"{backend}: ceiling again",
                CEILING.script,
                connections=options.connections,
                duration=options.duration,
            )
        workers = server.worker_pids(live.pid)
        memory = [WorkerMemory(pid, server.peak_memory_mib(pid)) for pid in workers]
    return BackendResult(
        dataset=dataset,
        workloads=results,
        ceiling_again=ceiling_again,
        classes=class_results,
        workers=memory,
        workers_restarted=workers != first_workers,
    )
