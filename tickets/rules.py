"""The ticket rules that forms, serializers, selectors and services all apply, written once:
which status may follow which, what customers may do, the reopen window, what uploads are
taken, what a logged call must say. Each refusal is a `TicketError` naming the input it is
about. Nothing here writes.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePath

import nh3
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from contracts.terms import priority_refusal
from portal.errors import Refusal
from tickets.models import PhoneCall, Ticket


class TicketError(Refusal):
    """A request the ticket rules refuse; the message says why, for the person who asked."""


Status = Ticket.Status
# Which status a ticket may move to from each status.
STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    Status.NEW: frozenset({Status.OPEN, Status.PENDING, Status.RESOLVED, Status.CLOSED}),
    Status.OPEN: frozenset({Status.PENDING, Status.RESOLVED, Status.CLOSED}),
    Status.PENDING: frozenset({Status.OPEN, Status.RESOLVED, Status.CLOSED}),
    Status.RESOLVED: frozenset({Status.OPEN, Status.CLOSED}),
    Status.CLOSED: frozenset(),
}
# What a customer may do with their own ticket: resolve it, or reopen it.
CUSTOMER_STATUSES = frozenset({Status.RESOLVED, Status.OPEN})
# A call logged longer than this after it started needs a reason.
CALL_LATE_AFTER = timedelta(hours=24)


def status_refusal(*, reference: str, old: str, new: str) -> str | None:
    """Why a ticket cannot go from `old` to `new`, or None when it can."""
    if new in STATUS_TRANSITIONS[old]:
        return None
    return _("%(reference)s cannot go from %(old)s to %(new)s.") % {
        "reference": reference,
        "old": Status(old).label.lower(),
        "new": Status(new).label.lower(),
    }


def ticket_priority_refusal(ticket: Ticket, priority: str) -> str | None:
    """Why an existing ticket cannot take `priority` (its contract, as snapshotted when it was
    created, does not cover it), or None when it can."""
    if ticket.sla_tier is None or priority in ticket.sla_targets:
        return None
    return priority_refusal(
        tier_name=ticket.sla_tier.name, priority=priority, covered=list(ticket.sla_targets)
    )


# The root cause's public summary is read in a sentence or two; the internal detail can be long.
ROOT_CAUSE_SUMMARY_MAX = 2000


def root_cause_refusal(summary: str) -> str | None:
    """Why `summary` cannot be a ticket's public root-cause summary, or None when it can (an
    internal detail alone is not a root cause the customer can read)."""
    summary = summary.strip()
    if not summary:
        return _("Write the root cause as the customer will read it.")
    if len(summary) > ROOT_CAUSE_SUMMARY_MAX:
        return _("Keep the summary to %(max)d characters; the detail can be longer.") % {
            "max": ROOT_CAUSE_SUMMARY_MAX
        }
    return None


def reopen_deadline(ticket: Ticket) -> datetime | None:
    """Until when the customer may reopen a resolved ticket."""
    if ticket.status != Status.RESOLVED or ticket.resolved_at is None:
        return None
    return ticket.resolved_at + timedelta(days=settings.REOPEN_WINDOW_DAYS)


def sanitise_html(html: str) -> str:
    """Keep formatting, drop scripts, styles, event handlers and foreign URL schemes."""
    return nh3.clean(html, url_schemes={"http", "https", "mailto"}) if html else ""


def attachments_check(files: Sequence[UploadedFile]) -> None:
    """Refuse uploads the portal does not take, naming the file and the reason."""
    if len(files) > settings.ATTACHMENT_MAX_FILES:
        raise TicketError(
            _("At most %(max)d files per message; %(sent)d were sent.")
            % {"max": settings.ATTACHMENT_MAX_FILES, "sent": len(files)},
            field="attachments",
        )
    allowed = {ext.lower().lstrip(".") for ext in settings.ATTACHMENT_EXTENSIONS}
    limit = filesizeformat(settings.ATTACHMENT_MAX_BYTES)
    for upload in files:
        name = upload.name or "unnamed"
        extension = PurePath(name).suffix.lower().lstrip(".")
        if extension not in allowed:
            raise TicketError(
                _("%(name)s: files of type .%(extension)s are not accepted (accepted: %(ok)s).")
                % {"name": name, "extension": extension or "?", "ok": ", ".join(sorted(allowed))},
                field="attachments",
            )
        if upload.size > settings.ATTACHMENT_MAX_BYTES:
            raise TicketError(
                _("%(name)s is larger than %(limit)s.") % {"name": name, "limit": limit},
                field="attachments",
            )
        if upload.size == 0:
            raise TicketError(_("%(name)s is empty.") % {"name": name}, field="attachments")


@dataclass(frozen=True)
class CallDetails:
    """A phone call as an agent logs it. `late_reason` explains a call logged more than a day
    after it started."""

    caller_name: str
    phone_number: str
    direction: str
    started_at: datetime
    duration: timedelta
    late_reason: str = ""


def call_refusals(
    call: CallDetails, summary: str, *, now: datetime, contract_from: datetime | None = None
) -> list[TicketError]:
    """Everything that stops a call being logged as given, each naming its field: no caller or
    number, an unknown direction, a start in the future, before the contract in force began
    (`contract_from`: the first instant it covers, when the call precedes it), or more than a
    day back without a reason; a negative duration; no summary."""
    refusals = []

    def refuse(message: str, field: str) -> None:
        refusals.append(TicketError(message, field=field))

    if not call.caller_name.strip():
        refuse(_("Who called? Give the caller's name."), "caller_name")
    if not call.phone_number.strip():
        refuse(_("Give the number the call came from or went to."), "phone_number")
    if call.direction not in PhoneCall.Direction.values:
        refuse(
            _("Unknown call direction %(direction)r.") % {"direction": call.direction}, "direction"
        )
    if call.started_at > now:
        refuse(_("The call cannot start in the future; give the time it started."), "started_at")
    elif contract_from is not None and call.started_at < contract_from:
        refuse(
            _("The call started before the contract in force began (%(day)s).")
            % {"day": contract_from.date().isoformat()},
            "started_at",
        )
    elif now - call.started_at > CALL_LATE_AFTER and not call.late_reason.strip():
        refuse(
            _("The call started more than 24 hours ago; say why it is logged this late."),
            "late_reason",
        )
    if call.duration < timedelta(0):
        refuse(_("A call cannot last less than nothing."), "duration")
    if not summary.strip():
        refuse(_("Summarise the call."), "summary")
    return refusals


def call_check(
    call: CallDetails, summary: str, *, now: datetime, contract_from: datetime | None = None
) -> None:
    """Refuse (the first of `call_refusals`) a call that cannot be logged as given."""
    refusals = call_refusals(call, summary, now=now, contract_from=contract_from)
    if refusals:
        raise refusals[0]
