"""`python -m bench`: seed, serve, load with wrk, and report (see `--help`)."""

from __future__ import annotations

import shlex
import sys
import time
from datetime import UTC, datetime

from rich.console import Console

from bench import machine, options, report, runner, wrk
from bench.results import BackendResult


def _summary(console: Console, results: list[BackendResult], output: str) -> None:
    for result in results:
        mix = next(r for r in result.workloads if r.workload.name == "mix")
        errors = result.errors
        colour = "red" if errors else "green"
        console.print(
            f"[bold]{result.dataset.backend}[/]: {result.dataset.total:,} cases, ceiling "
            f"{result.ceiling_rate:,.0f} req/s (drift {result.ceiling_drift:+.0%}), mix "
            f"{mix.saturated.rate:,.0f} req/s = {result.ratio(mix):.2f} x ceiling, "
            f"[{colour}]{errors:,} errors[/]"
        )
    console.print(f"Report written to {output}")


def main(argv: list[str]) -> int:
    chosen = options.parse(argv)
    # Wide enough for the tables when the output is a file or a pipe.
    console = Console() if sys.stdout.isatty() else Console(width=160)
    started = time.monotonic()
    start_time = datetime.now(UTC)
    try:
        wrk_path = wrk.ensure_wrk()
        results = [
            runner.run_backend(backend, chosen, wrk_path, console) for backend in chosen.backends
        ]
        facts = report.RunFacts(
            command=shlex.join(["python", "-m", "bench", *chosen.argv]),
            started=start_time.strftime("%Y-%m-%d %H:%M UTC"),
            minutes=(time.monotonic() - started) / 60,
            duration=chosen.duration,
            connections=chosen.connections,
            class_duration=chosen.class_duration,
            class_connections=chosen.class_connections,
            machine=machine.machine(),
            versions=machine.versions(
                wrk_path,
                postgres_url=chosen.postgres_url if "postgresql" in chosen.backends else None,
            ),
        )
    except wrk.BenchError as error:
        console.print(f"[red]bench: {error}[/]")
        return 1
    report.print_grids(console, results)
    report.write(chosen.output, report.section(facts, results))
    _summary(console, results, str(chosen.output))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
