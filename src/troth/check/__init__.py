"""`troth check`: every promise of troth.yaml, what keeps it, and the evidence that it is kept.

This docstring and `__all__` are the part's public surface; other parts import only these.

A promise is kept when a mechanism carries it out (a scheduled retention sweep, vault
coverage of the data map, a sharing form, a consent purpose, a rights kind with a
channel) and the engine store's evidence is fresh (the last sweep and what is still due,
the last disclosure, standing holds, overdue requests). It is broken when nothing keeps
it, stale when the evidence says it is not kept now, and attested when it is the
organisation's own word (device behaviour, contracts, a period the text never numbers).
The part reads the others only through their public functions.

    report = check_project(load_context(project), store)
    report.failing      # broken or stale promises: `troth check` exits 1
"""

from troth.check.report import FAILING, Promise, Report, Status
from troth.check.run import check_project

__all__ = ["FAILING", "Promise", "Report", "Status", "check_project"]
