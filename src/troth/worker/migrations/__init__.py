"""Alembic branch `worker`."""
