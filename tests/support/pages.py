"""One check for every HTML page the tests see (after GOV.UK Notify's habit).

A page must parse as HTML5 without errors, have a non-empty title, have no duplicate ids,
give every script the response's CSP nonce, and give every form an action and, when it
posts, a CSRF token.
"""

from __future__ import annotations

import re
from collections import Counter

import html5lib
from html5lib.constants import namespaces

_NS = {"h": namespaces["html"]}
_NONCE_RE = re.compile(r"'nonce-([^']+)'")
# HTML built in a template and then escaped again shows its tags to the reader.
_ESCAPED_MARKUP_RE = re.compile(r"&lt;(?:p|a|span|strong|div|ul|li)\b[^&]{0,40}?(?:class|href)=")


class PageProblem(AssertionError):
    pass


def check_html(html: str, csp_header: str | None, *, where: str = "page") -> None:
    parser = html5lib.HTMLParser(namespaceHTMLElements=True)
    doc = parser.parse(html)
    errors = [e for e in parser.errors if e[1] not in _TOLERATED_PARSE_ERRORS]
    if errors:
        raise PageProblem(f"{where}: HTML5 parse errors {errors[:5]}")
    if not html.lstrip().lower().startswith("<!doctype html>"):
        raise PageProblem(f"{where}: no <!DOCTYPE html>")
    title = doc.find(".//h:head/h:title", _NS)
    if title is None or not "".join(title.itertext()).strip():
        raise PageProblem(f"{where}: no <title>")
    ids = [el.get("id") for el in doc.iter() if el.get("id")]
    dupes = [i for i, n in Counter(ids).items() if n > 1]
    if dupes:
        raise PageProblem(f"{where}: duplicate ids {dupes}")
    nonce_match = _NONCE_RE.search(csp_header or "")
    if nonce_match is None:
        raise PageProblem(f"{where}: no CSP nonce in the Content-Security-Policy header")
    nonce = nonce_match.group(1)
    for script in doc.iterfind(".//h:script", _NS):
        if script.get("nonce") != nonce:
            raise PageProblem(f"{where}: a <script> without the CSP nonce: {script.get('src') or 'inline'}")
    for style in doc.iterfind(".//h:style", _NS):
        if style.get("nonce") != nonce:
            raise PageProblem(f"{where}: a <style> without the CSP nonce")
    for el in doc.iter():
        if el.get("style") is not None and not el.tag.endswith("svg"):
            tag = el.tag.split("}")[-1]
            raise PageProblem(f"{where}: inline style attribute on <{tag}>, which the CSP blocks")
    escaped = _ESCAPED_MARKUP_RE.search(html)
    if escaped:
        raise PageProblem(f"{where}: markup shown as text (escaped twice?): {escaped.group(0)}")
    for form in doc.iterfind(".//h:form", _NS):
        if not form.get("action"):
            raise PageProblem(f"{where}: a <form> without an action")
        if (form.get("method") or "get").lower() == "post":
            tokens = [i for i in form.iterfind(".//h:input", _NS) if i.get("name") == "csrf_token"]
            if not tokens or not tokens[0].get("value"):
                action = form.get("action")
                raise PageProblem(f"{where}: a posting <form action={action}> without a CSRF token")


# html5lib reports nothing we need to tolerate so far; add codes here with a reason if ever.
_TOLERATED_PARSE_ERRORS: frozenset[str] = frozenset()
