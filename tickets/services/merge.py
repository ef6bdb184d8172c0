"""Merging duplicate tickets into the one that stays.

A customer who writes twice about one problem (a mail and a call, two colleagues) opens two
tickets, each with clocks that would count against the SLA. Merging closes the duplicates,
which stops their clocks as any closing does, and points both sides at each other: the
messages stay on the ticket they were written on, so the history reads as it happened.
"""

from collections.abc import Sequence
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from tickets.models import Message, Ticket, TicketEvent
from tickets.rules import TicketError, status_refusal
from tickets.services.history import TicketWork, is_agent, tickets_lock
from tickets.services.lifecycle import _status_step

Status = Ticket.Status


def merge_refusal(*, primary: Ticket, duplicates: Sequence[Ticket]) -> TicketError | None:
    """Why `duplicates` cannot be merged into `primary`, or None when they can: the desk's
    form and the API check with it before calling `ticket_merge`, which checks again on the
    locked rows."""
    if not duplicates:
        return TicketError(_("Choose at least one duplicate to merge."), field="duplicates")
    if any(duplicate.pk == primary.pk for duplicate in duplicates):
        return TicketError(
            _("%(reference)s cannot be merged into itself.") % {"reference": primary.reference},
            field="duplicates",
        )
    if primary.status == Status.CLOSED:
        return TicketError(
            _("%(reference)s is closed; merge into an open ticket.")
            % {"reference": primary.reference},
            field="primary",
        )
    foreign = [t.reference for t in duplicates if t.organisation_id != primary.organisation_id]
    if foreign:
        return TicketError(
            _(
                "Only tickets of one organisation can be merged: %(references)s belong to "
                "another organisation than %(primary)s."
            )
            % {"references": ", ".join(foreign), "primary": primary.reference},
            field="duplicates",
        )
    for duplicate in duplicates:
        refusal = status_refusal(
            reference=duplicate.reference, old=duplicate.status, new=Status.CLOSED
        )
        if refusal:
            return TicketError(refusal, field="duplicates")
    return None


def ticket_merge(
    *, primary: Ticket, duplicates: Sequence[Ticket], actor: User, now: datetime
) -> Ticket:
    """Close `duplicates` as merged into `primary`, all or nothing, in one transaction.

    Each duplicate gets a public note pointing to the primary, a `merged` event
    (`{"into": reference}`) and is closed (a `closed` event; its clocks stop owing). The
    primary gets an internal note listing the merged references and one `merged` event
    (`{"from": [references]}`). Returns the primary as written.
    """
    if not is_agent(actor):
        raise TicketError(_("Only agents merge tickets."))
    unique = list({duplicate.pk: duplicate for duplicate in duplicates}.values())
    with transaction.atomic(durable=True):
        locked = tickets_lock([primary, *unique])
        if len(locked) != len(unique) + 1:
            raise TicketError(_("A ticket to merge no longer exists."), field="duplicates")
        primary, merged = locked[0], locked[1:]
        refusal = merge_refusal(primary=primary, duplicates=merged)
        if refusal:
            raise refusal
        references = [duplicate.reference for duplicate in merged]
        for duplicate in merged:
            work = TicketWork.on(duplicate, now=now)
            note = _note(
                duplicate,
                actor,
                now,
                public=True,
                text=_(
                    "This request duplicates %(primary)s and continues there; this ticket is "
                    "closed. Its messages stay here."
                )
                % {"primary": primary.reference},
            )
            work.history.add(
                TicketEvent.Kind.MERGED,
                actor,
                {"into": primary.reference, "message": note.pk},
                with_clocks=False,
            )
            _status_step(work, Status.CLOSED, actor)
            work.finish()
        work = TicketWork.on(primary, now=now)
        note = _note(
            primary,
            actor,
            now,
            public=False,
            text=_("Merged into this ticket (their messages stay on them): %(references)s.")
            % {"references": ", ".join(references)},
        )
        work.history.add(
            TicketEvent.Kind.MERGED,
            actor,
            {"from": references, "message": note.pk},
            with_clocks=False,
        )
        return work.finish()


def _note(ticket: Ticket, actor: User, now: datetime, *, public: bool, text: str) -> Message:
    # Written as the merge's own message, not a reply: telling a customer where their request
    # went is not an answer to it, so it meets no response clock.
    return Message.objects.create(
        ticket=ticket,
        author=actor,
        author_kind=Message.AuthorKind.AGENT,
        visibility=Message.Visibility.PUBLIC if public else Message.Visibility.INTERNAL,
        channel=Ticket.Channel.WEB,
        body_text=text,
        created_at=now,
    )
