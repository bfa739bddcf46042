"""Data-subject requests carried out on the app's real databases.

request = create_request(project, store, "erasure", "email", "bob@example.com")
verify_request(project, store, request.id)      # the subject proved the address
plan_request(project, store, request.id)         # what will be touched, with counts
run_request(project, store, request.id)          # or run_queue(project, store)
"""

from troth.rights.accounts import Account, account_identities, find_accounts
from troth.rights.export import export_path
from troth.rights.lifecycle import (
    KINDS,
    MAX_LIST,
    STATUSES,
    Request,
    approve_request,
    create_request,
    deny_request,
    get_request,
    list_requests,
    run_queue,
    run_request,
    verify_request,
)
from troth.rights.plan import Plan, TableStep
from troth.rights.view import SubjectSummary, find_subject, plan_request

__all__ = [
    "KINDS",
    "MAX_LIST",
    "STATUSES",
    "Account",
    "Plan",
    "Request",
    "SubjectSummary",
    "TableStep",
    "account_identities",
    "approve_request",
    "create_request",
    "deny_request",
    "export_path",
    "find_accounts",
    "find_subject",
    "get_request",
    "list_requests",
    "plan_request",
    "run_queue",
    "run_request",
    "verify_request",
]
