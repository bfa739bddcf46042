"""Data-subject requests carried out on the app's real databases.

request = create_request(project, store, "erasure", "email", "bob@example.com")
verify_request(project, store, request.id)      # the subject proved the address
plan_request(project, store, request.id)         # what will be touched, with counts
run_request(project, store, request.id)          # or run_queue(project, store)
"""

from troth.appdata import Plan, TableStep
from troth.rights.export import expire_exports, export_path, read_export, sealed_exports
from troth.rights.lifecycle import (
    KINDS,
    MAX_LIST,
    STATUSES,
    Request,
    answer_complaint,
    approve_request,
    create_request,
    deny_request,
    extend_deadline,
    get_request,
    insert_request,
    list_requests,
    needs_approval,
    new_request,
    remind_unverified,
    retry_request,
    verify_request,
)
from troth.rights.recorded import EVERY_PURPOSE, standing_limits
from troth.rights.run import queued_requests, run_queue, run_request
from troth.rights.view import SubjectSummary, find_subject, plan_request
from troth.rights.withdrawals import take_withdrawals

__all__ = [
    "EVERY_PURPOSE",
    "KINDS",
    "MAX_LIST",
    "STATUSES",
    "Plan",
    "Request",
    "SubjectSummary",
    "TableStep",
    "answer_complaint",
    "approve_request",
    "create_request",
    "deny_request",
    "expire_exports",
    "export_path",
    "extend_deadline",
    "find_subject",
    "get_request",
    "insert_request",
    "list_requests",
    "needs_approval",
    "new_request",
    "plan_request",
    "queued_requests",
    "read_export",
    "remind_unverified",
    "retry_request",
    "run_queue",
    "run_request",
    "sealed_exports",
    "standing_limits",
    "take_withdrawals",
    "verify_request",
]
