"""The reference app: its schema (schema.sql) and a generator of realistic data."""

from troth.refapp.generate import GenerateStats, generate
from troth.refapp.load import SCHEMA_PATH

__all__ = ["SCHEMA_PATH", "GenerateStats", "generate"]
