"""Alembic branch `ledger`."""
