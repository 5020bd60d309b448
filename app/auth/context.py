"""The request's principal, permission checks and audit helpers for routes."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from flask import g, request

from app.auth import service
from app.auth.principal import ANONYMOUS, Principal
from app.errors import Forbidden, Unauthorized

BEARER_SECURITY = [{"bearerAuth": []}]


def current_principal() -> Principal:
    """The caller of this request, resolved once from its Authorization header."""
    if "principal" not in g:
        header = request.headers.get("Authorization", "")
        if not header:
            g.principal = ANONYMOUS
        else:
            scheme, _, secret = header.partition(" ")
            if scheme.lower() != "bearer" or not secret.strip():
                raise Unauthorized("Use 'Authorization: Bearer <token>'.")
            g.principal = service.principal_from_bearer(secret=secret.strip())
    return g.principal


def require(permission: str) -> Principal:
    """The principal, if it holds the permission; 401 when anonymous, 403 otherwise."""
    principal = current_principal()
    if principal.kind == "anonymous":
        raise Unauthorized()
    if not principal.can(permission):
        raise Forbidden()
    return principal


def requires(permission: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Check a permission before the view reads its arguments.

    Put it below `transactional` and above flask-smorest's decorators, so a caller without a
    token gets 401 (and one without the permission 403) before any body or query validation.
    """

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            require(permission)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def audit(
    action: str,
    subject_type: str,
    subject_ids: Iterable[str],
    details: dict[str, Any] | None = None,
) -> None:
    """Record an audit event for this request's principal, request id and address."""
    service.record_audit(
        principal=current_principal(),
        action=action,
        subject_type=subject_type,
        subject_ids=subject_ids,
        request_id=g.get("request_id"),
        ip=request.remote_addr,
        details=details,
    )
