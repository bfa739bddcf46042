"""The tamper-evident audit ledger (being built; see issue 2)."""
