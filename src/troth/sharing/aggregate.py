"""Aggregates for recipients that may receive only aggregated data.

Per table: people and rows counted by the dimensions' generalized values, numeric
columns summed. Rows arrive grouped by person, so each person is counted once per group
without holding anyone's identity. Groups of fewer than `min_group` people are
suppressed. With `epsilon`, each person's contribution is capped at one group and the
people counts get discrete Laplace noise from OpenDP (L1 sensitivity 1, scale
1/epsilon); groups are released only where the noisy count reaches `min_group`, and rows
and sums, whose sensitivity is unbounded, are withheld.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from troth.errors import TrothError

Value = Callable[[Any], Any]


@dataclass
class Cell:
    people: int = 0
    rows: int = 0
    sums: list[float] = field(default_factory=list)


@dataclass
class Aggregate:
    """One table's groups, fed row by row in person order."""

    dimensions: dict[str, Value]
    sums: list[str]
    min_group: int
    epsilon: float | None
    cells: dict[tuple[Any, ...], Cell] = field(default_factory=dict)
    person: Hashable = None
    groups_of_person: set[tuple[Any, ...]] = field(default_factory=set)

    def add(self, person: Hashable, row: dict[str, Any]) -> None:
        if person != self.person:
            self.person, self.groups_of_person = person, set()
        elif self.epsilon is not None:
            return  # a person counts in the group of their first row only
        key = tuple(value(row.get(name)) for name, value in self.dimensions.items())
        cell = self.cells.get(key)
        if cell is None:
            cell = self.cells[key] = Cell(sums=[0.0] * len(self.sums))
        cell.rows += 1
        for i, name in enumerate(self.sums):
            number = row.get(name)
            if isinstance(number, int | float | Decimal) and not isinstance(number, bool):
                cell.sums[i] += float(number)
        if key not in self.groups_of_person:
            self.groups_of_person.add(key)
            cell.people += 1

    def add_group(
        self, key: tuple[Any, ...], people: int, rows: int, sums: Sequence[float]
    ) -> None:
        """A group the store counted (`owned_groups`), as if its rows had been added."""
        self.cells[key] = Cell(people, rows, list(sums) or [0.0] * len(self.sums))

    def release(self) -> tuple[list[dict[str, Any]], int]:
        """The cells that may leave, and the number of groups suppressed."""
        keys = sorted(self.cells, key=lambda k: tuple(str(v) for v in k))
        people = [self.cells[k].people for k in keys]
        if self.epsilon is not None:
            people = noisy(people, self.epsilon)
        out, suppressed = [], 0
        for key, count in zip(keys, people, strict=True):
            if count < self.min_group:
                suppressed += 1
                continue
            out.append(self.cell_row(key, count))
        return out, suppressed

    def cell_row(self, key: tuple[Any, ...], people: int) -> dict[str, Any]:
        row: dict[str, Any] = dict(zip(self.dimensions, key, strict=True))
        row["people"] = people
        if self.epsilon is None:
            cell = self.cells[key]
            row["rows"] = cell.rows
            row.update(
                {f"sum_{name}": total for name, total in zip(self.sums, cell.sums, strict=True)}
            )
        return row


def noisy(counts: Sequence[int], epsilon: float) -> list[int]:
    """`counts` with discrete Laplace noise, epsilon-DP for a person changing one count
    by one; the privacy loss is checked with OpenDP before anything is released."""
    if not counts:
        return []
    import opendp.prelude as dp

    dp.enable_features("contrib")
    space = dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int)
    mechanism = space >> dp.m.then_laplace(scale=1.0 / epsilon)
    if mechanism.map(d_in=1) > epsilon * (1 + 1e-9):
        raise TrothError(f"aggregate: the noise does not give epsilon {epsilon}")
    return [max(0, int(v)) for v in mechanism(list(counts))]
