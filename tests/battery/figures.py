"""Figures the battery reports: each test records what it tried and what it found, and the
run prints them all at the end (and writes them to .battery/figures.json)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

FIGURES_FILE = Path(".battery/figures.json")
_recorded: list[dict[str, Any]] = []


def scale() -> int:
    """How much larger than CI size to run: CASEDESK_BATTERY_SCALE, default 1."""
    value = os.environ.get("CASEDESK_BATTERY_SCALE", "1")
    try:
        parsed = int(value)
    except ValueError:
        raise ValueError(f"CASEDESK_BATTERY_SCALE must be a whole number, not {value!r}") from None
    if parsed < 1:
        raise ValueError(f"CASEDESK_BATTERY_SCALE must be at least 1, not {parsed}")
    return parsed


def record(part: str, backend: str, **figures: int | float | str) -> None:
    """Record one part's figures, e.g. record("hostile inputs", "sqlite", tried=812, 5xx=0)."""
    _recorded.append({"part": part, "backend": backend, **figures})


def recorded() -> list[dict[str, Any]]:
    return list(_recorded)


def write() -> None:
    if not _recorded:
        return
    FIGURES_FILE.parent.mkdir(exist_ok=True)
    FIGURES_FILE.write_text(json.dumps({"scale": scale(), "figures": _recorded}, indent=2))


def lines() -> list[str]:
    out = []
    for entry in _recorded:
        rest = ", ".join(f"{k}={v}" for k, v in entry.items() if k not in ("part", "backend"))
        out.append(f"{entry['part']} [{entry['backend']}]: {rest}")
    return out
