"""The error every part of the ledger raises when its stored state does not add up."""

from troth.errors import TrothError


class LedgerDamaged(TrothError):
    """The ledger's stored state is inconsistent (a head row, tree or tree head that does
    not match the entries): refuse to append or sign until someone has looked."""
