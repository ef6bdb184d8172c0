"""Every write about tickets, whatever the channel or the process that asks.

- `creation`: opening a ticket (its reference, SLA snapshot, clocks, first message, call).
- `lifecycle`: replies, notes and calls, status, priority, workaround, root cause, assignment,
  details, and the support desk's edit of several at once.
- `merge`: closing duplicate tickets as merged into the one that stays.
- `history`: the locked ticket, its clocks and its events, shared by the two above.
- `alerts`: recording warnings and breaches exactly once, and escalating them.
- `sweep`: the deadline sweep that beat runs every minute.
- `notifications`: sending notification emails, acknowledging escalations.
- `customer_mail`: the emails to customers each change calls for (the outbox rows).
- `outbox`: handing emails to sender tasks after commit.
"""

from tickets.rules import (
    CUSTOMER_STATUSES,
    STATUS_TRANSITIONS,
    CallDetails,
    TicketError,
)
from tickets.services.alerts import AlertCounts, alerts_raise
from tickets.services.creation import (
    LOAD,
    REFERENCE_PREFIX,
    OpenedTicket,
    references_reserve,
    ticket_create,
    ticket_open,
)
from tickets.services.lifecycle import (
    UNCHANGED,
    call_log,
    ticket_assign,
    ticket_change_priority,
    ticket_change_status,
    ticket_clocks_fix,
    ticket_mark_workaround,
    ticket_record_root_cause,
    ticket_reply,
    ticket_system_note,
    ticket_update,
)
from tickets.services.merge import merge_refusal, ticket_merge
from tickets.services.notifications import (
    NotificationError,
    escalation_acknowledge,
    notification_send,
    notifications_mark_read,
)
from tickets.services.sweep import SweepResult, deadlines_sweep

__all__ = [
    "CUSTOMER_STATUSES",
    "LOAD",
    "REFERENCE_PREFIX",
    "STATUS_TRANSITIONS",
    "UNCHANGED",
    "AlertCounts",
    "CallDetails",
    "NotificationError",
    "OpenedTicket",
    "SweepResult",
    "TicketError",
    "alerts_raise",
    "call_log",
    "deadlines_sweep",
    "escalation_acknowledge",
    "merge_refusal",
    "notification_send",
    "notifications_mark_read",
    "references_reserve",
    "ticket_assign",
    "ticket_change_priority",
    "ticket_change_status",
    "ticket_clocks_fix",
    "ticket_create",
    "ticket_mark_workaround",
    "ticket_record_root_cause",
    "ticket_merge",
    "ticket_open",
    "ticket_reply",
    "ticket_system_note",
    "ticket_update",
]
