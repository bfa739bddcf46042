"""The app's timestamps as the app stores them: a cutoff written the way a column holds
its dates, so that `column < cutoff` runs in the database, on the column's index.

A date column gets a datetime; an integer column, epoch seconds (milliseconds when its
values are that large); a text column, ISO-8601 text shaped like one of its values
("2025-03-01", "2025-03-01 12:00:00", "2025-03-01T12:00:00Z"), because ISO text
compares in time order only against text of the same shape.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import Column, Connection, select
from sqlalchemy.sql import sqltypes

from troth.errors import TrothError

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}(?P<sep>[T ]\d{2}:\d{2}(:\d{2})?)?")
EPOCH_MS = 100_000_000_000  # epoch seconds reach this in the year 5138


def stored_cutoff(conn: Connection, column: Column[Any], where: str, cutoff: dt.datetime) -> Any:
    """`cutoff` (aware, UTC) in the form `column` stores; None when the column holds no
    value yet (nothing can be due). `where` names the column in errors, never a value."""
    kind = column.type
    if isinstance(kind, sqltypes.DateTime):
        return cutoff if kind.timezone else cutoff.replace(tzinfo=None)
    if isinstance(kind, sqltypes.Date):
        return cutoff.date()
    sample = conn.execute(select(column).where(column.is_not(None)).limit(1)).scalar()
    if sample is None:
        return None
    if isinstance(kind, sqltypes.Integer | sqltypes.Numeric | sqltypes.Float):
        if not isinstance(sample, int | float) or isinstance(sample, bool):
            raise not_a_time(where)
        seconds = int(cutoff.timestamp())
        return seconds * 1000 if abs(sample) >= EPOCH_MS else seconds
    return iso_like(str(sample), cutoff, where)


def not_a_time(where: str) -> TrothError:
    return TrothError(
        f"datamap.yaml {where}: its values are not ISO-8601 dates or timestamps, "
        "epoch numbers or a date type; retention cannot compare them in time"
    )


def iso_like(sample: str, cutoff: dt.datetime, where: str) -> str:
    shape = ISO.match(sample)
    if shape is None:
        raise not_a_time(where)
    sep = shape.group("sep")
    if sep is None:
        return cutoff.strftime("%Y-%m-%d")
    return cutoff.strftime(f"%Y-%m-%d{sep[0]}%H:%M:%S")


def as_datetime(value: Any) -> dt.datetime | None:
    """A stored timestamp read back (a datetime, a date, ISO text or epoch seconds or
    milliseconds) as an aware UTC datetime, or None when it is none of those."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    if isinstance(value, int | float):
        seconds = value / 1000 if abs(value) >= EPOCH_MS else value
        return dt.datetime.fromtimestamp(seconds, dt.UTC)
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
