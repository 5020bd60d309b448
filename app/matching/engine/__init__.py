"""The pure matching engine: plain data in, ranked candidates with reasons out.

No Flask, no SQLAlchemy, no configuration globals (an import-linter contract checks it).
"""
