"""Canned responses: the placeholders an answer may use, and filling them in.

Only names from `PLACEHOLDERS` are replaced, by plain text: no attribute or index look-ups
(`str.format` would follow `{ticket.organisation.account_manager.password}`), and nothing is
marked safe, so a customer's name cannot bring markup into the page. `{{` and `}}` write a
brace.

>>> canned_render("Hello {customer_name}, about {ticket_reference}: {{ok}}",
...               {"customer_name": "Ada", "ticket_reference": "MRD-000001"})
'Hello Ada, about MRD-000001: {ok}'
>>> canned_unknown("Hi {customer_name}, {ticket.subject} {nope}")
['ticket.subject', 'nope']
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django_stubs_ext import StrOrPromise

    from tickets.models import Ticket

# What each placeholder stands for, as the admin explains it.
PLACEHOLDERS: dict[str, StrOrPromise] = {
    "customer_name": gettext_lazy("the requester's name"),
    "organisation": gettext_lazy("the customer organisation"),
    "ticket_reference": gettext_lazy("the ticket's reference, e.g. MRD-000123"),
    "ticket_subject": gettext_lazy("the ticket's subject"),
    "priority": gettext_lazy("the ticket's priority"),
    "status": gettext_lazy("the ticket's status"),
    "agent_name": gettext_lazy("your name"),
}

# A doubled brace, or one placeholder: whatever sits between a pair of braces.
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")


def canned_unknown(body: str) -> list[str]:
    """The placeholders of `body` that `PLACEHOLDERS` does not name, in order of appearance."""
    unknown = []
    for match in _TOKEN.finditer(body):
        name = match.group(1)
        if name is not None and name.strip() not in PLACEHOLDERS and name not in unknown:
            unknown.append(name)
    return unknown


def canned_check(body: str) -> None:
    """Refuse a body with a placeholder nobody fills in, naming it and the ones there are."""
    unknown = canned_unknown(body)
    if unknown:
        raise ValidationError(
            {
                "body": _("Unknown placeholder %(unknown)s; use %(known)s.")
                % {
                    "unknown": ", ".join(f"{{{name}}}" for name in unknown),
                    "known": ", ".join(f"{{{name}}}" for name in PLACEHOLDERS),
                }
            },
            code="unknown_placeholder",
        )


def canned_render(body: str, values: Mapping[str, str]) -> str:
    """`body` with each known placeholder replaced by its value (unknown ones stay as they are:
    the admin refuses them when the response is saved)."""

    def replace(match: re.Match[str]) -> str:
        token, name = match.group(0), match.group(1)
        if name is None:
            return token[0]
        value = values.get(name.strip())
        return token if value is None else str(value)

    return _TOKEN.sub(replace, body)


def canned_values(ticket: Ticket, agent: User) -> dict[str, str]:
    """The placeholders' values for `ticket` answered by `agent` (reads the ticket's requester
    and organisation, which the caller selects with it)."""
    requester = ticket.requester.user if ticket.requester is not None else None
    customer = requester.get_full_name() or requester.get_username() if requester else ""
    return {
        "customer_name": customer or _("there"),
        "organisation": ticket.organisation.name,
        "ticket_reference": ticket.reference,
        "ticket_subject": ticket.subject,
        "priority": ticket.get_priority_display(),
        "status": ticket.get_status_display(),
        "agent_name": agent.get_full_name() or agent.get_username(),
    }
