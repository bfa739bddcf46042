"""datamap.yaml: the app's data stores, categories per column, identities, and erasure rules."""

from troth.datamap.load import load_datamap
from troth.datamap.model import Column, DataMap, Link, Table, TableKey
from troth.datamap.stores import (
    blob_root,
    dispose_engines,
    engine_for,
    sql_engine,
    store_key,
    store_url,
)

__all__ = [
    "Column",
    "DataMap",
    "Link",
    "Table",
    "TableKey",
    "blob_root",
    "dispose_engines",
    "engine_for",
    "load_datamap",
    "sql_engine",
    "store_key",
    "store_url",
]
