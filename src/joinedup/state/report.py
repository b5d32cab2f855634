"""A comparison written out: CSV (long, one figure a line) or a standalone HTML page.

The web page renders the same :class:`~joinedup.state.compare.Comparison` with the GOV.UK
templates; this HTML is for the command line, to send or to print, with no scripts.
"""

from __future__ import annotations

import io

from jinja2 import Environment

from joinedup.csvsafe import SafeWriter
from joinedup.state.compare import Cell, Comparison
from joinedup.value.present import money

__all__ = ["describe_cell", "figure", "money_text", "to_csv", "to_html", "value_rank_text"]


def figure(value: float | None, unit: str) -> str:
    if value is None:
        return ""
    if unit == "share":
        return f"{100 * value:.0f}%"
    if unit in {"rate", "return", "effect"}:
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


def value_rank_text(cell: Cell, accounts: int) -> str:
    """The public value return's rank among all the accounts compared."""
    if cell.value is None:
        return ""
    if cell.lci is None or cell.uci is None:
        return "No interval, so no rank"
    if cell.rank is None:
        return "No clear difference from the others"
    return f"Rank {cell.rank} of {accounts} accounts"


def money_text(value: float | None) -> str:
    """Money as the account page writes it (its own function, so the two never differ)."""
    return "Not published" if value is None else money(value)


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
    for v in comparison.value:
        for key, label, c in (("effect", v.headline, v.effect),
                              ("fiscal_return", "Fiscal return", v.fiscal),
                              ("public_value_return", "Public value return", v.public_value)):
            w.writerow(["value", f"{v.collaboration}:{key}", f"{v.name}: {label}", v.place,
                        names.get(v.place, ""), c.value, c.lci, c.uci, v.persons, c.rank,
                        c.clearly_above, c.clearly_below, None, "", v.note or c.note])
    for slug, note in comparison.value_notes.items():
        w.writerow(["value", "", note, slug, names.get(slug, ""), None, None, None, None, None,
                    None, None, None, "", note])
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
<h2>Collaborations and their measured value</h2>
<p>Each collaboration's public value account as the place publishes it. The public value return
is ranked among the accounts only where the 95% intervals of their simulations do not overlap;
the fiscal return has no interval and is never ranked.</p>
{% if value %}<div class="scroll"><table><thead><tr><th scope="col">Place</th>
<th scope="col">Collaboration</th><th scope="col">People</th>
<th scope="col">Headline change a quarter (95% interval)</th>
<th scope="col">Fiscal return</th><th scope="col">Public value return (95% interval)</th>
<th scope="col">Rank</th><th scope="col">Net present value</th></tr></thead><tbody>
{% for v in value %}<tr><th scope="row">{{ names[v.place] }}</th><td>{{ v.name }}</td>
{% if v.state == "withheld" %}<td colspan="6">Withheld: {{ v.note }}</td>{% else %}
<td>{{ "{:,}".format(v.persons) if v.persons is not none else "Hidden (too few people)" }}</td>
<td>{{ v.headline }}{% if v.effect.value is not none %}: {{ describe(v.effect, "effect") }}{% endif %}</td>
<td>{{ describe(v.fiscal, "return") }}</td><td>{{ describe(v.public_value, "return") }}</td>
<td>{{ value_rank(v.public_value, ranked) }}</td><td>{{ money(v.npv) }}
{% if v.note %}<span class="rank">{{ v.note }}</span>{% endif %}</td>{% endif %}</tr>
{% endfor %}</tbody></table></div>{% else %}<p>No value accounts published.</p>{% endif %}
{% for slug, note in value_notes.items() %}<p>{{ names[slug] }}: {{ note }}.</p>{% endfor %}
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
        describe=describe_cell, rank_text=rank_text, value=comparison.value,
        value_notes=comparison.value_notes, value_rank=value_rank_text, money=money_text,
        ranked=sum(1 for v in comparison.value if v.public_value.value is not None))
