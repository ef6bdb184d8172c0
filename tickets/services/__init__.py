"""Every write about tickets, whatever the channel or the process that asks.

- `lifecycle`: creating tickets, messages, calls, status and priority changes, assignment.
- `alerts`: recording warnings and breaches exactly once, and escalating them.
- `sweep`: the deadline sweep that beat runs every minute.
- `notifications`: sending notification emails, acknowledging escalations.
"""

from tickets.services.alerts import AlertCounts, alerts_raise
from tickets.services.lifecycle import (
    CUSTOMER_STATUSES,
    REFERENCE_PREFIX,
    STATUS_TRANSITIONS,
    CallDetails,
    TicketError,
    attachments_check,
    call_log,
    references_reserve,
    reopen_deadline,
    sanitise_html,
    ticket_assign,
    ticket_change_priority,
    ticket_change_status,
    ticket_clocks_fix,
    ticket_create,
    ticket_mark_workaround,
    ticket_reply,
)
from tickets.services.notifications import (
    NotificationError,
    escalation_acknowledge,
    notification_send,
    notifications_mark_read,
)
from tickets.services.sweep import SweepResult, sweep

__all__ = [
    "AlertCounts",
    "NotificationError",
    "SweepResult",
    "alerts_raise",
    "escalation_acknowledge",
    "notification_send",
    "notifications_mark_read",
    "sweep",
    "CUSTOMER_STATUSES",
    "REFERENCE_PREFIX",
    "STATUS_TRANSITIONS",
    "CallDetails",
    "TicketError",
    "attachments_check",
    "call_log",
    "references_reserve",
    "reopen_deadline",
    "sanitise_html",
    "ticket_assign",
    "ticket_change_priority",
    "ticket_change_status",
    "ticket_clocks_fix",
    "ticket_create",
    "ticket_mark_workaround",
    "ticket_reply",
]
