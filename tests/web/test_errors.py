"""Error pages in the same design: 403, 404, 500 and 503."""

from __future__ import annotations

import base64
import json

from itsdangerous import TimestampSigner

from joinedup.config import Settings
from joinedup.places.roles import Role
from joinedup.web.app import create_app
from tests.support.client import PageClient
from tests.support.factories import make_place, make_user


def test_unknown_url_gives_the_404_page(client) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in response.text


def test_place_you_are_not_in_is_not_found(client, session) -> None:
    make_place(session)
    other = make_place(session, slug="elsewhere", name="Elsewhere")
    user = make_user(session, other, Role.LEAD)
    session.commit()
    client.sign_in(user.email)
    assert client.get("/places/testville").status_code == 404


def test_database_unreachable_gives_503(tmp_path) -> None:
    settings = Settings(database_url="postgresql+psycopg://nobody:pw@127.0.0.1:1/none", data_dir=tmp_path,
                        secret_key="k" * 32)
    with PageClient(create_app(settings)) as c:
        # A page that needs the database, with a session that names a user:
        data = base64.b64encode(json.dumps({"sid": "a-session-id"}).encode())
        c.cookies.set("joinedup_session", TimestampSigner("k" * 32).sign(data).decode())
        down = c.get("/", follow_redirects=False)
        assert down.status_code == 503
        assert "cannot reach its database" in down.text


def test_server_error_gives_500_page(settings) -> None:
    app = create_app(settings)

    from fastapi import Depends

    from joinedup.web.authz import public

    @app.get("/boom", dependencies=[Depends(public())])
    def boom() -> None:
        raise RuntimeError("boom")

    with PageClient(app, raise_server_exceptions=False) as c:
        response = c.get("/boom")
        assert response.status_code == 500
        assert "Sorry, there is a problem with the service" in response.text
