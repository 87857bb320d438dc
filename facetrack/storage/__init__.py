"""Storage: the event store (SQLite) and, later, clip storage."""
