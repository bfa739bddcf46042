"""Retention: the policy's periods carried out on the app's data.

Rules of troth.yaml become sweeps through the data map (`rules.py`): rows older than a
rule's period, by the table's `created_at`, are deleted or anonymized in batches that
survive a crash (`sweep.py`); accounts the app deleted, inactive accounts (after a
notice) and accounts under the minimum age are handed to the rights engine
(`accounts.py`, `age.py`); legal holds (`troth.holds`) keep what they cover.

    plan = plan_retention(ctx, store)        # a dry run: counts per rule and table
    report = run_retention(ctx, store)       # or rule="web_logs"
    account_states(ctx, store, "inactive", "app.users")  # {"due": 2, "held": 1, ...}
    age_allows(ctx.policy, "2015-04-01", "sign_up")
"""

from troth.retention.accounts import AccountReport, clear_flag, flagged
from troth.retention.age import Action as AgeAction
from troth.retention.age import AgeAnswer, age_allows, birth_date_column
from troth.retention.rules import Gap
from troth.retention.run import (
    Planned,
    RetentionPlan,
    RetentionReport,
    plan_retention,
    release,
    run_retention,
)
from troth.retention.settings import RetentionSettings, retention_settings
from troth.retention.states import STATES as ACCOUNT_STATES
from troth.retention.states import account_states

__all__ = [
    "ACCOUNT_STATES",
    "AccountReport",
    "AgeAction",
    "AgeAnswer",
    "Gap",
    "Planned",
    "RetentionPlan",
    "RetentionReport",
    "RetentionSettings",
    "account_states",
    "age_allows",
    "birth_date_column",
    "clear_flag",
    "flagged",
    "plan_retention",
    "release",
    "retention_settings",
    "run_retention",
]
