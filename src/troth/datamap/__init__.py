"""datamap.yaml: the app's data stores, categories per column, identities, and erasure rules."""

from troth.datamap.model import Column, DataMap, Link, Table

__all__ = ["Column", "DataMap", "Link", "Table"]
