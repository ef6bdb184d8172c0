"""The support desk for tickets (Django discovers `tickets.admin`):

- `desk`: the ticket queue and page where agents work, and logging calls;
- `bulk`: the queue's bulk actions (assign, priority, pending, resolve, merge);
- `history`: the read-only record (messages, attachments, events, alerts);
- `escalations`: escalations and notifications, acknowledged by their recipients;
- `email`: mailboxes, inbound mail and its quarantine, emails sent to customers;
- `routing`: routing rules and shift handovers.
"""

from tickets.admin import desk, email, escalations, history, routing

__all__ = ["desk", "email", "escalations", "history", "routing"]
