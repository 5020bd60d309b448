"""`flask volunteers`, `flask tasks` and `flask offers`."""
