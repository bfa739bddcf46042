"""The app's own data: the one part that reads and changes a subject's rows.

Identities and their normalization, finding a subject's rows through the data
map's links (reach), what an erasure will change (plans), the guard that a plan
for one person never reaches another, and set-based execution in the app's
stores. Rights, consent and the parts above use only the names in `__all__`.

    ctx = load_context(project)
    with ctx.reading() as conns:
        found = resolve(ctx.datamap, conns, "email", "bob@example.com")
    check(ctx, found, owned_keys(found))      # raises PlanRefused, changes nothing
"""

from troth.appdata.accounts import (
    Account,
    AccountTable,
    account_identities,
    account_tables,
    find_accounts,
    identities_in,
)
from troth.appdata.context import Context, checkpoint, load_context
from troth.appdata.execute import (
    delete_blobs,
    erase_categories,
    erase_store,
    inside,
    set_columns,
    switch_active,
    withdrawn_columns,
)
from troth.appdata.fields import identity_changes, is_birth_date, rectify_fields
from troth.appdata.groups import owned_groups
from troth.appdata.guard import (
    Counted,
    PlanRefused,
    Refusal,
    check,
    owned_keys,
    people_tables,
    require_valid,
)
from troth.appdata.identities import normalize, phone_variants, stored_form
from troth.appdata.keyjson import key_from_json, key_to_json
from troth.appdata.owners import OWNER, Owner, co_owners, owned_rows, owner_of
from troth.appdata.plan import (
    SHARED,
    Erasure,
    Plan,
    TableStep,
    blob_counts,
    erasure_of,
    erasure_steps,
    read_steps,
    recollect_blobs,
)
from troth.appdata.reach import Found, Key, Row, resolve, subject_identities, table_order
from troth.appdata.rowsets import RowSet
from troth.appdata.sets import (
    BATCH,
    others,
    owned_batches,
    plain_tables,
    read_in,
    resolve_lean,
    set_erasure,
)
from troth.appdata.sweep import (
    Due,
    Spare,
    account_values,
    anonymize_keys,
    anonymized,
    delete_keys,
    due_keys,
    due_summary,
)
from troth.appdata.times import as_datetime
from troth.appdata.unique import taken

__all__ = [
    "BATCH",
    "OWNER",
    "SHARED",
    "Account",
    "AccountTable",
    "Context",
    "Counted",
    "Due",
    "Erasure",
    "Found",
    "Key",
    "Owner",
    "Plan",
    "PlanRefused",
    "Refusal",
    "Row",
    "RowSet",
    "Spare",
    "TableStep",
    "account_identities",
    "account_tables",
    "account_values",
    "anonymize_keys",
    "anonymized",
    "as_datetime",
    "blob_counts",
    "check",
    "checkpoint",
    "co_owners",
    "delete_blobs",
    "delete_keys",
    "due_keys",
    "due_summary",
    "erase_categories",
    "erase_store",
    "erasure_of",
    "erasure_steps",
    "find_accounts",
    "identities_in",
    "identity_changes",
    "inside",
    "is_birth_date",
    "key_from_json",
    "key_to_json",
    "load_context",
    "normalize",
    "others",
    "owned_batches",
    "owned_groups",
    "owned_keys",
    "owned_rows",
    "owner_of",
    "people_tables",
    "phone_variants",
    "plain_tables",
    "read_in",
    "read_steps",
    "recollect_blobs",
    "rectify_fields",
    "require_valid",
    "resolve",
    "resolve_lean",
    "set_columns",
    "set_erasure",
    "stored_form",
    "subject_identities",
    "switch_active",
    "table_order",
    "taken",
    "withdrawn_columns",
]
