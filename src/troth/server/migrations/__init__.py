"""Alembic branch `server`."""
