"""The support desk for tickets (Django discovers `tickets.admin`):

- `desk`: the ticket queue where agents work, and logging calls;
- `bulk`: the queue's bulk actions (assign, priority, pending, resolve, merge);
- `ticket_page`: a ticket's page (conversation, reply, clocks, routing, history);
- `canned`: the canned responses agents insert into replies;
- `history`: the read-only record (messages, attachments, events, alerts);
- `escalations`: escalations and notifications, acknowledged by their recipients;
- `email`: mailboxes, inbound mail and its quarantine, emails sent to customers;
- `routing`: routing rules and shift handovers.
"""

from tickets.admin import canned, desk, email, escalations, history, routing

__all__ = ["canned", "desk", "email", "escalations", "history", "routing"]
