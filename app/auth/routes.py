"""Login for coordinators and a view of who the caller is."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask.views import MethodView

from app.auth import service
from app.auth.context import BEARER_SECURITY, audit, current_principal
from app.auth.schemas import LoginInSchema, PrincipalOutSchema, TokenOutSchema
from app.common.blueprint import Blueprint
from app.common.idempotency import committed
from app.errors import Unauthorized
from app.extensions import db, limit

blp = Blueprint("auth", __name__, url_prefix="/api/v1", description="Authentication")


@blp.route("/tokens")
class Tokens(MethodView):
    @limit("RATE_LIMIT_LOGIN")
    @committed
    @blp.arguments(LoginInSchema)
    @blp.response(201, TokenOutSchema)
    def post(self, data):
        """Exchange a coordinator's e-mail and password for a bearer token.

        Repeated failures lock the account for LOGIN_LOCKOUT_MINUTES (429 with Retry-After).
        """
        config = current_app.config
        try:
            token, secret = service.login(
                email=data["email"],
                password=data["password"],
                max_failures=config["LOGIN_MAX_FAILURES"],
                lockout=timedelta(minutes=config["LOGIN_LOCKOUT_MINUTES"]),
                ttl_days=config["TOKEN_TTL_DAYS"],
            )
        except Unauthorized:
            # The failed-attempt counter must survive the error response.
            db.session.commit()
            raise
        audit("user.login", "user", [token.user_id])
        return {"token": secret, "expires_at": token.expires_at, "role": token.user.role}


@blp.route("/me")
class Me(MethodView):
    @blp.doc(security=BEARER_SECURITY)
    @blp.response(200, PrincipalOutSchema)
    def get(self):
        """Who the bearer token belongs to, and what it may do."""
        principal = current_principal()
        if principal.kind == "anonymous":
            raise Unauthorized()
        return {
            "kind": principal.kind,
            "id": principal.id,
            "role": principal.role,
            "scopes": sorted(principal.scopes),
            "permissions": sorted(principal.permissions),
        }
