"""What every write to a ticket shares: the locked row, its clocks, and its history.

A service opens its transaction, takes a `TicketWork` on the locked ticket, applies one or more
steps (each moves the clocks with the transitions of `tickets.clocks` and adds its events), and
finishes: one UPDATE of the fields that changed, one INSERT of the events, then the warnings
and breaches the steps found. Nothing here opens a transaction.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db.models import ForeignKey

from tickets.clock_store import clocks_load, clocks_store
from tickets.clocks import NEXT_RESPONSE, Change, Clocks
from tickets.models import ResponseCycle, Ticket, TicketEvent
from tickets.services.alerts import alerts_raise
from tickets.services.customer_mail import customer_mail_queue

# Clock changes that get an event of their own besides the operation's.
DERIVED_KINDS = {"paused": TicketEvent.Kind.PAUSED, "resumed": TicketEvent.Kind.RESUMED}


def is_agent(user: User | None) -> bool:
    return bool(user is not None and user.is_staff)


def ticket_lock(ticket: Ticket) -> Ticket:
    """The ticket's row read afresh and locked until the transaction ends (the write lock on
    SQLite). Related rows the caller already read (its organisation, SLA snapshot, …) stay
    read when they are still the ones the row points at."""
    locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
    _keep_related(ticket, locked)
    return locked


def tickets_lock(tickets: Sequence[Ticket]) -> list[Ticket]:
    """Several tickets read afresh and locked in one query, in the order given. Rows are
    locked in id order, whoever asks, so two operations on overlapping tickets cannot
    deadlock. A ticket deleted meanwhile is missing from the result."""
    rows = Ticket.objects.select_for_update().filter(pk__in=[t.pk for t in tickets]).order_by("pk")
    locked = {row.pk: row for row in rows}
    result = []
    for ticket in tickets:
        row = locked.get(ticket.pk)
        if row is not None:
            _keep_related(ticket, row)
            result.append(row)
    return result


def _keep_related(ticket: Ticket, locked: Ticket) -> None:
    for relation in Ticket._meta.concrete_fields:
        if (
            isinstance(relation, ForeignKey)
            and relation.is_cached(ticket)
            and getattr(ticket, relation.attname) == getattr(locked, relation.attname)
        ):
            relation.set_cached_value(locked, relation.get_cached_value(ticket))


@dataclass
class History:
    """The events of one operation on one ticket, written together when it finishes."""

    ticket: Ticket
    now: datetime
    events: list[TicketEvent] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    # False for a ticket a machine opened (an auto-submitted email): no acknowledgement.
    acknowledge: bool = True

    def add(
        self,
        kind: str,
        actor: User | None,
        data: dict[str, Any] | None = None,
        *,
        changes: Sequence[Change] = (),
        at: datetime | None = None,
        with_clocks: bool = True,
    ) -> None:
        """An event of the operation, with the clock changes it made (and one event per clock
        it paused or resumed); its warnings and breaches are raised when the work finishes."""
        at = at or self.now
        payload = dict(data or {})
        if with_clocks:
            payload["clocks"] = [change.as_data() for change in changes]
        self.events.append(TicketEvent(kind=kind, at=at, actor=actor, data=payload))
        for change in changes:
            # A clock with nothing promised (no target at this priority) pauses silently.
            promised = change.due_before is not None or change.due_after is not None
            if change.what in DERIVED_KINDS and promised:
                self.events.append(
                    TicketEvent(
                        kind=DERIVED_KINDS[change.what],
                        at=at,
                        actor=actor,
                        clock=change.clock,
                        data=change.as_data(),
                    )
                )
        self.changes += changes

    def write(self) -> None:
        """Insert the events (one statement), write the customer emails they call for, and raise
        the warnings and breaches found."""
        for event in self.events:
            event.ticket = self.ticket
        TicketEvent.objects.bulk_create(self.events)
        customer_mail_queue(self.ticket, self.events, now=self.now, acknowledge=self.acknowledge)
        self.events = []
        if self.changes:
            alerts_raise(items=[(self.ticket, self.changes)], now=self.now)
            self.changes = []


@dataclass
class TicketWork:
    """One operation on one locked ticket: its clocks, the fields it changed, its history."""

    ticket: Ticket
    state: Clocks | None
    history: History
    now: datetime
    fields: set[str] = field(default_factory=set)

    @classmethod
    def on(cls, ticket: Ticket, *, now: datetime) -> "TicketWork":
        """Work on `ticket` (locked by the caller, or new) and its stored clocks."""
        return cls(ticket, clocks_load(ticket), History(ticket, now), now)

    def changed(self, *names: str) -> None:
        self.fields.update(names)

    def finish(self) -> Ticket:
        """Store the clocks, update the changed fields of the row, write the history."""
        if self.state is not None:
            self.fields.update(clocks_store(self.ticket, self.state))
            self._response_cycle_close(self.state)
        # Every operation is activity on the ticket, a note included.
        self.ticket.updated_at = self.now
        self.ticket.save(update_fields=sorted({*self.fields, "updated_at"}))
        self.fields = set()
        self.history.write()
        return self.ticket

    def _response_cycle_close(self, state: Clocks) -> None:
        """A next-response cycle the work met becomes a row of its own: the ticket's fields
        start over with the customer's next message."""
        met = [
            change
            for change in self.history.changes
            if change.clock == NEXT_RESPONSE and change.what == "met"
        ]
        clock = state.clocks[NEXT_RESPONSE]
        if not met or clock.started_at is None or clock.met_at is None:
            return
        ResponseCycle.objects.create(
            ticket=self.ticket,
            started_at=clock.started_at,
            due_at=clock.due_at,
            met_at=clock.met_at,
            breached_at=clock.breached_at,
            paused_for=clock.paused_for,
            taken=clock.taken,
        )
