"""What one backend's run measured."""

from __future__ import annotations

from dataclasses import dataclass

from bench.datasets import Dataset
from bench.queries import SearchClass
from bench.sqltiming import SqlTiming
from bench.workloads import Workload
from bench.wrk import WrkResult

# A p99 beyond this many p50s at the fixed rate is flagged: a tail, not a queue.
TAIL_FACTOR = 10


@dataclass(frozen=True)
class WorkloadResult:
    workload: Workload
    saturated: WrkResult
    target_rate: float
    paced: WrkResult

    @property
    def long_tail(self) -> bool:
        return self.paced.p99_ms > TAIL_FACTOR * self.paced.p50_ms


@dataclass(frozen=True)
class ClassResult:
    search_class: SearchClass
    total_hits: int
    http: WrkResult
    sql: SqlTiming

    @property
    def http_to_sql(self) -> float:
        return self.http.p50_ms / self.sql.p50_ms if self.sql.p50_ms else 0.0


@dataclass(frozen=True)
class WorkerMemory:
    pid: int
    peak_mib: float | None


@dataclass(frozen=True)
class BackendResult:
    dataset: Dataset
    workloads: list[WorkloadResult]
    ceiling_again: WrkResult
    classes: list[ClassResult]
    workers: list[WorkerMemory]
    workers_restarted: bool

    @property
    def ceiling_rate(self) -> float:
        """The ceiling measured first and last, averaged: the machine drifts during a run."""
        return (self.workloads[0].saturated.rate + self.ceiling_again.rate) / 2

    @property
    def ceiling_drift(self) -> float:
        first = self.workloads[0].saturated.rate
        return (self.ceiling_again.rate - first) / first if first else 0.0

    def ratio(self, result: WorkloadResult) -> float:
        return result.saturated.rate / self.ceiling_rate if self.ceiling_rate else 0.0

    @property
    def errors(self) -> int:
        runs = [r.saturated for r in self.workloads] + [r.paced for r in self.workloads]
        return sum(
            run.errors for run in [*runs, self.ceiling_again, *(c.http for c in self.classes)]
        )
