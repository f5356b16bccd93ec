"""axe-core (tests/browser/vendor, version in its README) run on a page as it is shown."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

AXE = Path(__file__).parent / "vendor" / "axe.min.js"

# Runs axe with every default rule (WCAG 2 A/AA and best practices), then drops the elements a
# Known entry names, for its rule only.
_RUN = """async known => {
    const result = await axe.run(document);
    const isKnown = (rule, node) => known.some(entry =>
        entry.rule === rule
        && node.target.length === 1
        && document.querySelector(node.target[0])?.matches(entry.selector));
    return result.violations
        .map(violation => ({
            ...violation,
            nodes: violation.nodes.filter(node => !isKnown(violation.id, node)),
        }))
        .filter(violation => violation.nodes.length > 0);
}"""


@dataclass(frozen=True)
class Known:
    """A violation the page cannot fix (markup of a vendored library): one rule, on the
    elements matching one CSS selector, and why. The rule still holds everywhere else."""

    rule: str
    selector: str
    reason: str


def violations(page: Page, *, known: Sequence[Known] = ()) -> list[dict[str, Any]]:
    """axe's violations on the page as it is now, less the known ones."""
    assert all(entry.reason.strip() for entry in known), "every known violation needs a reason"
    # Evaluated through the DevTools protocol, which the page's Content-Security-Policy does not
    # govern; a <script> tag would be refused by it (and make the page look broken).
    page.evaluate(AXE.read_text())
    found: list[dict[str, Any]] = page.evaluate(_RUN, [asdict(entry) for entry in known])
    return found


def describe(found: list[dict[str, Any]]) -> str:
    """One line per violation and up to three of its elements, for an assertion message."""
    lines = []
    for violation in found:
        targets = [json.dumps(node["target"]) for node in violation["nodes"][:3]]
        lines.append(
            f"{violation['id']} ({violation['impact']}): {violation['help']}; "
            f"{len(violation['nodes'])} element(s), e.g. {', '.join(targets)}"
        )
    return "\n".join(lines)
