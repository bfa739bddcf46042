"""Spreadsheet-safe cells: text a spreadsheet would run as a formula is made inert.

Every CSV troth writes for people to open (access exports, disclosures to recipients)
passes its cells through `inert`; JSON keeps every value as it is.
"""

from __future__ import annotations

from typing import Any

# A spreadsheet runs a cell starting with one of these as a formula (=HYPERLINK(...) sends
# data away when clicked); OWASP's advice is to prefix a single quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(value: Any) -> Any:
    """`value`, with a leading `'` where a text cell would start a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
