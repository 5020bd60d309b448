"""Who is asking, and what they may do."""

from __future__ import annotations

from dataclasses import dataclass, field

# Permission -> roles and partner-key scopes that hold it. Admins hold everything coordinators do.
_ROLE_PERMISSIONS = {
    "coordinator": {
        "reports:read",
        "reports:read_full",
        "reports:read_minors",
        "reports:write",
        "reports:verify",
        "reports:expiry",
        "reports:import",
        "pfif:import",
        "matches:review",
        "volunteers:read",
        "volunteers:write",
        "volunteers:vet",
        "tasks:read",
        "tasks:write",
        "offers:read",
        "offers:write",
    },
    "admin": {
        "reports:read",
        "reports:read_full",
        "reports:read_minors",
        "reports:write",
        "reports:verify",
        "reports:expiry",
        "reports:import",
        "pfif:import",
        "matches:review",
        "volunteers:read",
        "volunteers:write",
        "volunteers:vet",
        "tasks:read",
        "tasks:write",
        "offers:read",
        "offers:write",
        "audit:read",
    },
}
# PFIF export (pfif:export) is for partner keys only; with full_read it carries contact fields
# and exact locations, with read alone it is redacted. A write key may push PFIF records.
_SCOPE_PERMISSIONS = {
    "read": {"reports:read", "pfif:export"},
    "full_read": {"reports:read", "reports:read_full", "pfif:export"},
    "write": {"reports:write", "pfif:import"},
    # A shelter's desk asks for volunteers (an interpreter, a driver); it reads no task.
    "tasks": {"tasks:request"},
}


@dataclass(frozen=True)
class Principal:
    """The caller of a request: anonymous, a user (by role) or a partner key (by scopes)."""

    kind: str  # "anonymous" | "user" | "key"
    id: str | None = None
    role: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)

    @property
    def label(self) -> str:
        """How the audit log names this caller, e.g. 'user:01j...'."""
        return "anonymous" if self.id is None else f"{self.kind}:{self.id}"

    @property
    def permissions(self) -> set[str]:
        if self.kind == "user" and self.role:
            return set(_ROLE_PERMISSIONS.get(self.role, set()))
        if self.kind == "key":
            granted: set[str] = set()
            for scope in self.scopes:
                granted |= _SCOPE_PERMISSIONS.get(scope, set())
            return granted
        return set()

    def can(self, permission: str) -> bool:
        """Whether this caller holds a permission."""
        return permission in self.permissions


ANONYMOUS = Principal(kind="anonymous")
