"""A comparison written out: CSV (long, one figure a line) or a standalone HTML page.

The web page renders the same :class:`~joinedup.state.compare.Comparison` with the GOV.UK
templates; this HTML is for the command line, to send or to print, with no scripts.
"""

from __future__ import annotations

import io

from jinja2 import Environment

from joinedup.csvsafe import SafeWriter
from joinedup.state.compare import Cell, Comparison

__all__ = ["describe_cell", "figure", "to_csv", "to_html"]


def figure(value: float | None, unit: str) -> str:
    if value is None:
        return ""
    if unit == "share":
        return f"{100 * value:.0f}%"
    if unit == "rate":
        return f"{value:.2f}"
    return f"{value:.1f}"


def unit_of(section_key: str) -> str:
    return {"prevalence": "rate", "citizen": "share"}.get(section_key, "score")


def describe_cell(cell: Cell, unit: str) -> str:
    """The figure, its interval and its rank in plain words."""
    if cell.value is None:
        return cell.note or "No figure"
    text = figure(cell.value, unit)
    if cell.lci is not None and cell.uci is not None:
        text += f" ({figure(cell.lci, unit)} to {figure(cell.uci, unit)})"
    return text


def rank_text(cell: Cell, places: int) -> str:
    if cell.value is None:
        return ""
    if cell.rank is None:
        return "No clear difference from the others"
    return f"Rank {cell.rank} of {places}"


def to_csv(comparison: Comparison) -> str:
    names = {p.slug: p.name for p in comparison.places}
    out = io.StringIO()
    w = SafeWriter(out)
    w.writeheader(["section", "row", "label", "place", "place_name", "value", "lci", "uci", "n",
                   "rank", "clearly_above", "clearly_below", "reference", "versus_reference",
                   "note"])
    for section in comparison.sections:
        for row in section.rows:
            for c in row.cells:
                w.writerow([section.key, row.key, row.label, c.place, names.get(c.place, ""),
                            c.value, c.lci, c.uci, c.n, c.rank, c.clearly_above,
                            c.clearly_below, row.reference, c.versus_reference, c.note])
    for problem in comparison.problems:
        w.writerow(["left out", "", problem, "", "", None, None, None, None, None, None, None,
                    None, "", ""])
    return out.getvalue()


_HTML = """<!DOCTYPE html>
<html lang="en-GB"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Places compared – joinedup</title>
<style>
body{font-family:Arial,sans-serif;margin:1rem;max-width:70rem;color:#0b0c0c}
.scroll{overflow-x:auto}table{border-collapse:collapse;margin-bottom:1.5rem}
th,td{border-bottom:1px solid #b1b4b6;padding:.4rem .6rem;text-align:left;vertical-align:top}
.problem{border-left:5px solid #d4351c;padding:.5rem 1rem;margin-bottom:1rem}
.rank{color:#505a5f;font-size:.9em;display:block}
</style></head><body>
<h1>Places compared</h1>
<p>{{ places|length }} place{{ '' if places|length == 1 else 's' }}. Ranks are given only where
95% intervals do not overlap; otherwise a place has no rank.</p>
{% if problems %}<div class="problem"><h2>Packages left out</h2><ul>
{% for p in problems %}<li>{{ p }}</li>{% endfor %}</ul></div>{% endif %}
{% for s in sections %}<h2>{{ s.title }}</h2><p>{{ s.unit }}.</p>
{% for row in s.rows %}<div class="scroll"><table><caption>{{ row.label }}
{% if row.reference is not none %} ({{ row.reference_label }}: {{ fig(row.reference, unit(s.key)) }})
{% endif %}</caption><thead><tr><th scope="col">Place</th><th scope="col">Figure (95% interval)</th>
<th scope="col">Rank</th></tr></thead><tbody>
{% for c in row.cells %}<tr><th scope="row">{{ names[c.place] }}</th>
<td>{{ describe(c, unit(s.key)) }}</td><td>{{ rank_text(c, places|length) }}</td></tr>{% endfor %}
</tbody></table></div>{% endfor %}{% endfor %}
<h2>Collaborations</h2>
{% for p in places %}<h3>{{ p.name }}</h3>{% set cs = collaborations[p.slug] %}
{% if cs %}<ul>{% for c in cs %}<li>{{ c.name }} ({{ c.status }}):
{{ c.measures|length }} measure{{ '' if c.measures|length == 1 else 's' }}</li>{% endfor %}</ul>
{% else %}<p>No collaborations published.</p>{% endif %}{% endfor %}
</body></html>
"""


def to_html(comparison: Comparison) -> str:
    env = Environment(autoescape=True)
    names = {p.slug: p.name for p in comparison.places}
    return env.from_string(_HTML).render(
        places=comparison.places, sections=comparison.sections, problems=comparison.problems,
        collaborations=comparison.collaborations, names=names, fig=figure, unit=unit_of,
        describe=describe_cell, rank_text=rank_text)
