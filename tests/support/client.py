"""A test client that checks every HTML page it receives, and signs in as a role."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from tests.support.factories import PASSWORD
from tests.support.pages import check_html

_TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


class PageClient(TestClient):
    """Every HTML response goes through check_html; `csrf` fetches the session's token."""

    check_pages = True

    def request(self, method: str, url: Any, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        response = super().request(method, url, *args, **kwargs)
        if self.check_pages and "text/html" in response.headers.get("content-type", ""):
            check_html(response.text, response.headers.get("content-security-policy"),
                       where=f"{method} {url} ({response.status_code})")
        return response

    def csrf(self, path: str = "/sign-in") -> str:
        page = self.get(path)
        match = _TOKEN_RE.search(page.text)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def post_form(self, url: str, data: dict[str, Any] | None = None, *, token_from: str | None = None,
                  **kwargs: Any) -> Any:
        payload: dict[str, Any] = {"csrf_token": self.csrf(token_from or "/sign-in")}
        payload.update(data or {})
        return self.post(url, data=payload, follow_redirects=False, **kwargs)

    def sign_in(self, email: str, password: str = PASSWORD) -> None:
        response = self.post_form("/sign-in", {"email": email, "password": password})
        assert response.status_code == 303, f"sign-in as {email} failed: {response.status_code}"
