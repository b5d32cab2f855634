"""Accessibility checks with axe-core (npm, pinned in package.json) in a Playwright page.

``check_accessibility(page, "charter page")`` runs axe on the page as it is and fails on any
violation tagged WCAG 2.0/2.1 A or AA or WCAG 2.2 AA, listing each rule and the elements
that break it. axe is evaluated through the browser's developer protocol, so the page's
strict Content-Security-Policy stays on while it runs.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

AXE_JS = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")


class AccessibilityProblem(AssertionError):
    pass


@lru_cache(maxsize=1)
def axe_source() -> str:
    if not AXE_JS.exists():
        raise RuntimeError(f"{AXE_JS} is missing: run `npm install` in the repository first")
    return AXE_JS.read_text()


def run_axe(page: Any) -> list[dict[str, Any]]:
    """axe's violations for the page (a Playwright sync Page), WCAG A and AA rules only."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source())
    result: dict[str, Any] = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " resultTypes: ['violations']})",
        list(WCAG_TAGS),
    )
    return list(result["violations"])


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v.get('impact')}): {v['help']} [{v['helpUrl']}]")
        for node in v["nodes"][:5]:
            summary = (node.get("failureSummary") or "").splitlines()[-1:]
            lines.append(f"    {' '.join(map(str, node['target']))}: {' '.join(summary)}")
    return "\n".join(lines)


def check_accessibility(page: Any, where: str) -> None:
    violations = run_axe(page)
    if violations:
        raise AccessibilityProblem(f"{where} ({page.url}): {len(violations)} WCAG violation(s)\n"
                                   + describe(violations))
