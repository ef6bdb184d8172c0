from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tickets.models import Ticket, TicketEvent


@pytest.fixture
def demo(db):
    call_command("seed_demo", "--tickets-per-org", "8", stdout=StringIO(), stderr=StringIO())


def replay(*args: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("sla_replay", *args, stdout=out, stderr=StringIO())
    except SystemExit as exit_:
        return exit_.code, out.getvalue()
    return 0, out.getvalue()


def test_replay_agrees_with_every_stored_clock_of_the_demo(demo):
    with_sla = Ticket.objects.filter(sla_contract__isnull=False).count()
    assert with_sla > 100
    code, out = replay("--all")
    assert code == 0
    assert f"{with_sla} ticket(s) replayed, 0 differ." in out


def test_replay_reports_a_tampered_clock_and_fix_restores_it(demo):
    ticket = Ticket.objects.filter(sla_contract__isnull=False, status="open").first()
    true_due = ticket.resolution_due_at
    Ticket.objects.filter(pk=ticket.pk).update(resolution_due_at=true_due + timedelta(hours=5))
    code, out = replay("--all")
    assert code == 1
    assert f"{ticket.reference} resolution.due_at: stored " in out
    assert "1 differ" in out

    code, out = replay("--ticket", ticket.reference, "--fix")
    assert code == 0
    assert "1 differ, 1 fixed" in out
    ticket.refresh_from_db()
    assert ticket.resolution_due_at == true_due
    corrected = ticket.events.get(kind=TicketEvent.Kind.CORRECTED)
    assert corrected.data["fields"] == ["resolution_due_at"]
    assert replay("--ticket", ticket.reference) == (0, "1 ticket(s) replayed, 0 differ.\n")


def test_replay_needs_to_know_which_tickets(db):
    with pytest.raises(CommandError):
        call_command("sla_replay", stdout=StringIO(), stderr=StringIO())
    with pytest.raises(CommandError, match="No ticket MRD-999999"):
        call_command("sla_replay", "--ticket", "MRD-999999", stdout=StringIO())


def test_replay_fills_in_what_clocks_achieved_before_it_was_stored(demo):
    # Tickets met before each clock kept what it took, as after an upgrade: the replay knows.
    met = Ticket.objects.filter(sla_contract__isnull=False, first_response_met_at__isnull=False)
    taken = dict(met.values_list("pk", "first_response_taken"))
    assert taken and all(value is not None for value in taken.values())
    met.update(first_response_taken=None)
    code, out = replay("--all", "--fix")
    assert code == 0
    assert f"{len(taken)} fixed" in out
    assert dict(met.values_list("pk", "first_response_taken")) == taken


def test_replay_covers_the_root_cause(demo):
    ticket = Ticket.objects.filter(
        sla_contract__isnull=False, status="open", root_cause_due_at__isnull=False
    ).first()
    true_due = ticket.root_cause_due_at
    Ticket.objects.filter(pk=ticket.pk).update(root_cause_due_at=true_due + timedelta(hours=1))
    code, out = replay("--ticket", ticket.reference)
    assert code == 1
    assert f"{ticket.reference} root_cause.due_at: stored " in out
