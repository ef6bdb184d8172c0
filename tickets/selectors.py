"""Reads owned by the tickets app, always scoped to who is asking."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet
from django.http import Http404

from tickets.models import Ticket


def tickets_visible_to(user: AbstractBaseUser) -> QuerySet[Ticket]:
    """Agents see every ticket; a customer's admin sees the organisation's; a requester sees
    their own, or the organisation's when it shares tickets with all its members."""
    if not user.is_authenticated:
        return Ticket.objects.none()
    if user.is_staff:
        return Ticket.objects.all()
    member = getattr(user, "member", None)
    if member is None:
        return Ticket.objects.none()
    scope = Q(organisation_id=member.organisation_id)
    if member.role != member.Role.ADMIN and not member.organisation.requesters_see_all_tickets:
        scope &= Q(requester_id=member.pk)
    return Ticket.objects.filter(scope)


def ticket_for_user(user: AbstractBaseUser, reference: str) -> Ticket:
    """The ticket, if `user` may see it; 404 otherwise (never 403, which would confirm it
    exists)."""
    ticket = (
        tickets_visible_to(user)
        .select_related("organisation", "sla_tier", "sla_contract", "sla_calendar")
        .filter(reference=reference.upper())
        .first()
    )
    if ticket is None:
        raise Http404("No such ticket.")
    return ticket
