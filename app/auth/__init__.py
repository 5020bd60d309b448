"""Users, bearer tokens, roles, partner API keys and the audit log."""
