"""The record of disclosures: every export to a recipient and the people it carried.

Sharing writes it; the rights engine reads it, so that an access export lists who
received the person's data, when and why.
"""

from troth.disclosures.log import (
    Disclosure,
    disclosures_to,
    get_export,
    list_exports,
    new_id,
    record_export,
)

__all__ = [
    "Disclosure",
    "disclosures_to",
    "get_export",
    "list_exports",
    "new_id",
    "record_export",
]
