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
        "matches:review",
        "volunteers:read",
        "volunteers:write",
        "volunteers:vet",
        "offers:read",
        "offers:write",
    },
    "admin": {
        "reports:read",
        "reports:read_full",
        "reports:read_minors",
        "reports:write",
        "reports:verify",
        "matches:review",
        "volunteers:read",
        "volunteers:write",
        "volunteers:vet",
        "offers:read",
        "offers:write",
        "audit:read",
    },
}
_SCOPE_PERMISSIONS = {
    "read": {"reports:read"},
    "full_read": {"reports:read", "reports:read_full"},
    "write": {"reports:write"},
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
