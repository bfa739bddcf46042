"""The order in which chunks of rows are generated.

(Generating in a child process while this one loads was tried: pickling the rows
across cost more than it saved on this 2-core machine, so it is one process.)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from troth.refapp.rows import (
    BIG_BATCH,
    BIG_ROWS,
    Chunk,
    World,
    big_chunks,
    contact_chunk,
    orders_chunk,
    phonebook_chunk,
    populate,
    social_chunk,
    stories_chunk,
    users_chunk,
    visits_chunk,
)

# Tables are generated pass by pass: later passes refer to what earlier ones made
# (comments need the number of stories).
PASSES: tuple[Callable[[World, range], Chunk], ...] = (
    users_chunk,
    stories_chunk,
    social_chunk,
    orders_chunk,
    phonebook_chunk,
    contact_chunk,
    visits_chunk,
)


@dataclass(frozen=True)
class Plan:
    """One generation run: its size, seed, reference day, chunk size (in users) and how
    many users get a million rows each (`big`)."""

    users: int
    seed: int
    as_of: dt.date
    chunk: int
    big: int = 0

    @property
    def steps(self) -> int:
        per_user = len(PASSES) * len(range(1, self.users + 1, self.chunk))
        return per_user + self.big * (BIG_ROWS // BIG_BATCH)


def chunks(plan: Plan) -> Iterator[Chunk]:
    """Every chunk of rows of the run, table pass after table pass, then the big subjects'."""
    world = populate(plan.users, plan.seed, plan.as_of, plan.chunk)
    for make in PASSES:
        for uids in world.chunks():
            yield make(world, uids)
    yield from big_chunks(world, plan.big)
