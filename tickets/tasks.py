"""Celery adapters: take ids, call one service."""

from datetime import datetime
from smtplib import SMTPException

from celery import Task, shared_task
from django.conf import settings
from django.utils import timezone

from portal.taskguard import GuardedTask
from tickets.channels.email.imap import mailbox_poll, mailboxes_to_poll
from tickets.channels.email.outbound import customer_email_send
from tickets.services.notifications import notification_send
from tickets.services.routing import handovers_run, ticket_route
from tickets.services.sweep import deadlines_sweep


@shared_task(base=GuardedTask, bind=True)
def sweep_deadlines(self: Task, at: str | None = None) -> dict[str, int]:
    """Beat runs this every minute. When more than a batch is due it enqueues
    `SWEEP_CONCURRENCY - 1` helpers (this task with `at`, the sweep's instant) on its own queue;
    overlapping sweeps split the work, so a backlog is cleared by several workers at once."""
    if at is not None:
        return deadlines_sweep(now=datetime.fromisoformat(at)).as_dict()
    now = timezone.now()
    queue = (self.request.delivery_info or {}).get("routing_key")

    def call_helpers() -> None:
        for _ in range(settings.SWEEP_CONCURRENCY - 1):
            sweep_deadlines.apply_async(args=[now.isoformat()], queue=queue)

    return deadlines_sweep(now=now, on_backlog=call_helpers).as_dict()


@shared_task(
    base=GuardedTask,
    autoretry_for=(SMTPException, ConnectionError, TimeoutError),
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=2,
)
def send_notifications(ids: list[int]) -> int:
    """Email each notification that is not sent yet; returns how many this run sent."""
    return sum(notification_send(notification_id=pk, now=timezone.now()) for pk in ids)


@shared_task(
    base=GuardedTask,
    autoretry_for=(SMTPException, ConnectionError, TimeoutError),
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=2,
)
def send_customer_emails(ids: list[int]) -> int:
    """Send each queued customer email that is not sent yet; returns how many this run sent."""
    return sum(customer_email_send(email_id=pk, now=timezone.now()) for pk in ids)


@shared_task(base=GuardedTask)
def poll_mailboxes() -> dict[str, dict[str, int]]:
    """Beat runs this every `EMAIL_POLL_INTERVAL_SECONDS`: store the unseen mail of every
    IMAP mailbox (a mailbox that fails is recorded on it; the others go on)."""
    return {
        result.mailbox: result.outcomes
        for result in (mailbox_poll(mailbox, now=timezone.now()) for mailbox in mailboxes_to_poll())
    }


@shared_task(base=GuardedTask)
def route_ticket(ticket_id: int, trigger: str = "created") -> str | None:
    """Route a ticket after the transaction that opened it committed (on its region's queue);
    returns the reason of the decision."""
    decision = ticket_route(ticket_id=ticket_id, now=timezone.now(), trigger=trigger)
    return decision.reason if decision else None


@shared_task(base=GuardedTask)
def hand_over_shifts() -> dict[str, int]:
    """Beat runs this every minute: teams whose shift just ended hand their urgent 24x7
    tickets to the next team on shift, once per shift end."""
    result = handovers_run(now=timezone.now())
    return {"handovers": result.handovers, "moved": result.moved}
