"""The event history as sentences an agent reads: each `TicketEvent` kind, with who did it,
what changed and why, instants in the viewer's time zone.

Pure presentation: the names of the teams and people an event refers to by id come in a
`Names` the caller loads once for the whole history (the page's query count does not grow
with it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from contracts.sla_names import Clock, Priority
from portal.models import Team
from tickets.clock_display import format_instant
from tickets.models import Escalation, PhoneCall, Ticket, TicketEvent

Kind = TicketEvent.Kind


@dataclass(frozen=True)
class Names:
    """Teams and people by id, for the events that name them by id."""

    teams: Mapping[int, Team] = field(default_factory=dict)
    people: Mapping[int, User] = field(default_factory=dict)

    def team(self, pk: int | None) -> str:
        if pk is None:
            return _("no team")
        team = self.teams.get(pk)
        return str(team) if team is not None else _("team #%(id)s") % {"id": pk}

    def person(self, pk: int | None) -> str:
        if pk is None:
            return _("nobody")
        user = self.people.get(pk)
        return person_name(user) if user is not None else _("user #%(id)s") % {"id": pk}


def person_name(user: User | None) -> str:
    if user is None:
        return _("Meridian")
    return user.get_full_name() or user.get_username()


def user_ids_named(events: Iterable[TicketEvent]) -> set[int]:
    """The people the events name by id (assignees, escalation recipients): the caller loads
    them at once for `Names`."""
    ids: set[int] = set()
    for event in events:
        data = event.data or {}
        for side in ("old", "new", "from", "to"):
            part = data.get(side)
            if isinstance(part, dict) and part.get("assignee"):
                ids.add(part["assignee"])
        for recipient in data.get("recipients") or []:
            ids.add(recipient["user"])
    return ids


def _clock(name: str) -> str:
    return str(Clock(name).label) if name in Clock.values else name


def _status(value: str) -> str:
    return str(Ticket.Status(value).label) if value in Ticket.Status.values else value


def _priority(value: str) -> str:
    return str(Priority(value).label) if value in Priority.values else value


def _instant(value: Any) -> str:
    instant = parse_datetime(value) if isinstance(value, str) else value
    return format_instant(instant) if isinstance(instant, datetime) else "—"


def _placement(part: dict[str, Any], names: Names) -> str:
    team = names.team(part.get("team"))
    if part.get("assignee"):
        return _("%(team)s (%(person)s)") % {"team": team, "person": names.person(part["assignee"])}
    return team


def _clock_changes(data: dict[str, Any]) -> list[str]:
    """What the event did to the clocks that an agent cares about: met, and moved due dates."""
    sentences = []
    for change in data.get("clocks") or []:
        clock = _clock(change.get("clock", ""))
        what = change.get("what")
        if what == "met":
            sentences.append(_("%(clock)s met.") % {"clock": clock})
        elif what == "retargeted" and change.get("due_after"):
            sentences.append(
                _("%(clock)s now due %(when)s.")
                % {"clock": clock, "when": _instant(change["due_after"])}
            )
        elif what == "started" and change.get("due_after"):
            sentences.append(
                _("%(clock)s due %(when)s.")
                % {"clock": clock, "when": _instant(change["due_after"])}
            )
    return sentences


def event_sentence(event: TicketEvent, names: Names) -> str:
    """One event as a sentence (or a few), e.g. "Lena Fischer changed the priority from P3 to
    P2. Resolution now due Tue 03 Mar 2026 18:00 CET."."""
    data: dict[str, Any] = event.data or {}
    who = person_name(event.actor)
    clock = _clock(event.clock)
    kind = event.kind
    if kind == Kind.CREATED:
        channel = data.get("channel", "")
        label = Ticket.Channel(channel).label if channel in Ticket.Channel.values else channel
        text = _("Opened through %(channel)s at %(priority)s.") % {
            "channel": label,
            "priority": _priority(data.get("priority", "")),
        }
        if data.get("contract"):
            text += " " + _("Under contract %(contract)s.") % {"contract": data["contract"]}
        else:
            text += " " + _("No contract: no SLA deadlines.")
        if data.get("follow_up_of"):
            text += " " + _("Follows up %(ticket)s.") % {"ticket": data["follow_up_of"]}
    elif kind == Kind.DETAILS:
        old, new = data.get("old", {}), data.get("new", {})
        text = _("%(who)s changed the details: “%(old)s” to “%(new)s”.") % {
            "who": who,
            "old": old.get("subject", ""),
            "new": new.get("subject", ""),
        }
    elif kind == Kind.MESSAGE:
        text = _("%(who)s wrote.") % {"who": who if event.actor else _("The customer")}
    elif kind == Kind.RESPONDED:
        text = _("%(who)s replied to the customer.") % {"who": who}
    elif kind == Kind.NOTE:
        if data.get("handover"):
            text = _("Handover note for the next shift.")
        else:
            text = _("%(who)s left an internal note.") % {"who": who}
    elif kind == Kind.CALL:
        direction = data.get("direction", "")
        text = _("%(who)s logged an %(direction)s call that started %(when)s.") % {
            "who": who,
            "direction": str(PhoneCall.Direction(direction).label).lower()
            if direction in PhoneCall.Direction.values
            else direction,
            "when": _instant(data.get("called_at")),
        }
    elif kind in (Kind.STATUS, Kind.RESOLVED, Kind.REOPENED, Kind.CLOSED):
        text = _("%(who)s changed the status from %(old)s to %(new)s.") % {
            "who": who,
            "old": _status(data.get("old", "")),
            "new": _status(data.get("new", "")),
        }
    elif kind == Kind.PRIORITY:
        text = _("%(who)s changed the priority from %(old)s to %(new)s.") % {
            "who": who,
            "old": _priority(data.get("old", "")),
            "new": _priority(data.get("new", "")),
        }
    elif kind == Kind.ASSIGNED:
        text = _("%(who)s moved it from %(old)s to %(new)s.") % {
            "who": who,
            "old": _placement(data.get("old", {}), names),
            "new": _placement(data.get("new", {}), names),
        }
        if data.get("reason"):
            text += " " + _("Reason: %(reason)s.") % {"reason": str(data["reason"]).rstrip(".")}
    elif kind == Kind.ROUTED:
        text = _("Routed from %(old)s to %(new)s (%(trigger)s). %(reason)s") % {
            "old": _placement(data.get("from", {}), names),
            "new": _placement(data.get("to", {}), names),
            "trigger": _trigger(data.get("trigger", "")),
            "reason": data.get("reason", ""),
        }
    elif kind in (Kind.PAUSED, Kind.RESUMED):
        template = (
            _("%(clock)s clock paused.") if kind == Kind.PAUSED else _("%(clock)s clock resumed.")
        )
        text = template % {"clock": clock}
        if kind == Kind.RESUMED and data.get("due_after"):
            text += " " + _("Now due %(when)s.") % {"when": _instant(data["due_after"])}
    elif kind == Kind.WORKAROUND:
        text = _("%(who)s gave a workaround.") % {"who": who}
        if data.get("note"):
            text += " " + _("“%(note)s”") % {"note": data["note"]}
    elif kind == Kind.ROOT_CAUSE:
        # The public summary only: the internal detail is never in the event.
        template = (
            _("%(who)s revised the root cause.")
            if data.get("revised")
            else _("%(who)s recorded the root cause.")
        )
        text = template % {"who": who}
        if data.get("summary"):
            text += " " + _("“%(summary)s”") % {"summary": data["summary"]}
    elif kind == Kind.WARNING:
        text = _("%(clock)s reached %(threshold)s%% of its target (due %(when)s).") % {
            "clock": clock,
            "threshold": data.get("threshold", "?"),
            "when": _instant(data.get("due_at")),
        }
    elif kind == Kind.BREACH:
        text = _("%(clock)s breached: it was due %(when)s.") % {
            "clock": clock,
            "when": _instant(data.get("due_at")),
        }
    elif kind == Kind.ESCALATED:
        roles = dict(Escalation.Role.choices)
        recipients = ", ".join(
            f"{names.person(item['user'])} ({roles.get(item.get('role'), item.get('role'))})"
            for item in data.get("recipients") or []
        )
        text = _("%(clock)s escalated to %(recipients)s.") % {
            "clock": clock,
            "recipients": recipients or _("nobody on shift"),
        }
    elif kind == Kind.ACKNOWLEDGED:
        text = _("%(who)s acknowledged the %(clock)s escalation.") % {
            "who": who,
            "clock": clock.lower(),
        }
    elif kind == Kind.CORRECTED:
        text = _("Clocks corrected from the history (%(fields)s).") % {
            "fields": ", ".join(data.get("fields") or []) or "—"
        }
    else:
        text = str(event.get_kind_display())
    return " ".join([text.strip(), *_clock_changes(data)])


def _trigger(value: str) -> str:
    triggers = {
        "created": _("new ticket"),
        "escalated": _("escalation"),
        "handover": _("shift handover"),
        "requested": _("on request"),
    }
    return triggers.get(value, value)
