"""Small pieces shared by every domain: ids, time, pagination, request context."""
