"""Logging out of the web revokes exactly the session's token (auth revoke_token)."""

from __future__ import annotations

import sqlalchemy as sa

from app.auth import service as auth_service
from app.extensions import db


def test_logout_revokes_the_session_token_and_no_other(app, client, logged_in, post_form):
    with app.app_context():
        from app.auth.models import ApiToken

        session_tokens = list(
            db.session.scalars(sa.select(ApiToken).where(ApiToken.name != "test"))
        )
        assert len(session_tokens) == 1 and session_tokens[0].revoked_at is None
        session_id = session_tokens[0].id
    response = post_form("/coordinator/logout", {}, form_page="/coordinator/")
    assert response.status_code == 303
    assert client.get("/coordinator/").status_code == 302
    with app.app_context():
        assert db.session.get(ApiToken, session_id).revoked_at is not None
    # The coordinator's other token (the API's) still works.
    headers = {"Authorization": f"Bearer {logged_in['token']}"}
    assert client.get("/api/v1/tasks", headers=headers).status_code == 200


def test_revoke_token_is_exact(app, coordinator):
    with app.app_context():
        assert auth_service.revoke_token(secret=coordinator["token"]) is True
        assert auth_service.revoke_token(secret=coordinator["token"]) is False
        assert auth_service.revoke_token(secret=coordinator["token"][:10] + "x" * 30) is False
        db.session.commit()
