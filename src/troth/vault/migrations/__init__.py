"""Alembic branch `vault`."""
