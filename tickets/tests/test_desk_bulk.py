"""Bulk actions on the support desk's queue: each ticket is one service call in its own
transaction with its events; a refused ticket is reported and the others are still changed;
merging closes duplicates into one ticket of the same organisation."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.admin import site
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.test import RequestFactory
from django.urls import reverse

from conftest import api_client, error_of, make_user
from portal.models import Team
from portal.services import staff_permissions_sync
from tickets.admin.bulk import assign_to_me
from tickets.admin.desk import TicketAdmin
from tickets.clock_display import most_urgent
from tickets.clock_replay import replay_differences
from tickets.models import Message, Ticket, TicketEvent
from tickets.rules import TicketError
from tickets.selectors import FAR_FUTURE, next_due_at
from tickets.services import ticket_change_status, ticket_create, ticket_merge

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
CHANGELIST = "admin:tickets_ticket_changelist"

pytestmark = pytest.mark.usefixtures("frozen")


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


def open_ticket(requester, subject: str, priority: str = "p3", minutes_ago: int = 60) -> Ticket:
    return ticket_create(
        organisation=requester.organisation,
        requester=requester,
        channel="web",
        subject=subject,
        body_text=f"{subject}: details.",
        priority=priority,
        now=NOW - timedelta(minutes=minutes_ago),
    )


@pytest.fixture
def acme(contract_a, requester_a, colleague_a) -> list[Ticket]:
    return [
        open_ticket(requester_a, "Ingest down"),
        open_ticket(colleague_a, "Ingest down again", minutes_ago=50),
        open_ticket(requester_a, "Player stalls", minutes_ago=40),
    ]


@pytest.fixture
def globex(contract_b, requester_b) -> Ticket:
    return open_ticket(requester_b, "Echo on calls")


@pytest.fixture
def agent(agent_ber, client):
    staff_permissions_sync()
    client.force_login(agent_ber.user)
    return agent_ber


def post_action(client, action: str, tickets, **data):
    # An action applies to the selected rows of the list it was chosen on: every ticket here (a
    # bare URL is the agent's team's open tickets).
    return client.post(
        reverse(CHANGELIST) + "?status=any",
        {"action": action, "_selected_action": [t.pk for t in tickets], **data},
    )


def flash(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def fresh(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


def events_of(ticket: Ticket, kind: str) -> list[TicketEvent]:
    return list(ticket.events.filter(kind=kind).order_by("id"))


# --- Assign ---------------------------------------------------------------------------------


def test_assign_to_me_gives_the_tickets_to_the_agent_and_their_team(acme, agent, client):
    response = post_action(client, "assign_to_me", acme)
    assert response.status_code == 302
    assert flash(response) == ["3 tickets assigned to you"]
    for ticket in acme:
        stored = fresh(ticket)
        assert (stored.assignee, stored.team) == (agent.user, agent.team)
        [event] = events_of(stored, TicketEvent.Kind.ASSIGNED)
        assert event.actor == agent.user
        assert event.data["new"]["assignee"] == agent.user.pk
        assert event.data["new"]["team"] == agent.team.pk
        assert event.data["reason"] == "assigned in bulk in the support desk"


def test_assign_to_me_refuses_someone_who_is_not_an_agent(acme, org_a):
    customer = make_user("someone@acme.test")
    request = RequestFactory().post("/")
    request.user = customer
    request.session = {}
    request._messages = FallbackStorage(request)
    assign_to_me(TicketAdmin(Ticket, site), request, Ticket.objects.filter(pk=acme[0].pk))
    assert [str(m) for m in request._messages] == ["Tickets are assigned to agents."]
    assert fresh(acme[0]).assignee is None


def test_assign_to_page_lists_the_selection_and_keeps_it(acme, agent, client):
    response = post_action(client, "assign_to", acme[:2])
    assert response.status_code == 200
    page = response.content.decode()
    assert [t.name for t in response.templates][0] == "admin/tickets/ticket/bulk_action.html"
    for ticket in acme[:2]:
        assert ticket.reference in page
        assert f'name="_selected_action" value="{ticket.pk}"' in page
    assert acme[2].reference not in page
    assert 'name="action" value="assign_to"' in page
    assert not response.context["form"].is_bound


def test_assign_to_form_says_what_is_missing_or_wrong(acme, agent, agent_sg, client):
    nothing = post_action(client, "assign_to", acme, apply="yes")
    assert nothing.status_code == 200
    assert nothing.context["form"].errors == {"__all__": ["Choose an agent, a team, or both."]}
    mismatch = post_action(
        client, "assign_to", acme, apply="yes", agent=agent_sg.user.pk, team=agent.team.pk
    )
    assert mismatch.context["form"].errors == {
        "agent": ["Mei Agent works in Singapore L1, not in Berlin L1."]
    }
    unknown = post_action(client, "assign_to", acme, apply="yes", team=999_999)
    assert list(unknown.context["form"].errors) == ["team"]
    assert all(fresh(t).assignee is None for t in acme)


def test_assign_to_an_agent_puts_the_ticket_in_their_team(acme, agent, agent_sg, client):
    response = post_action(client, "assign_to", acme[:2], apply="yes", agent=agent_sg.user.pk)
    assert response.status_code == 302
    assert flash(response) == ["2 tickets assigned to Mei Agent"]
    for ticket in acme[:2]:
        stored = fresh(ticket)
        assert (stored.assignee, stored.team, stored.region_id) == (
            agent_sg.user,
            agent_sg.team,
            agent_sg.team.region_id,
        )
        assert events_of(stored, TicketEvent.Kind.ASSIGNED)[-1].actor == agent.user
    assert fresh(acme[2]).assignee is None


def test_assign_to_a_team_alone_leaves_the_tickets_unassigned_in_its_queue(
    acme, agent, l2_ber, client
):
    post_action(client, "assign_to_me", acme[:1])
    team = Team.objects.get(pk=l2_ber.team_id)
    response = post_action(client, "assign_to", acme[:1], apply="yes", team=team.pk)
    assert flash(response)[-1] == "1 ticket assigned to Berlin L2"
    stored = fresh(acme[0])
    assert (stored.team, stored.assignee) == (team, None)
    last = events_of(stored, TicketEvent.Kind.ASSIGNED)[-1]
    assert last.data["old"]["assignee"] == agent.user.pk
    assert last.data["new"] == {"team": team.pk, "assignee": None, "region": team.region_id}


# --- Priority -------------------------------------------------------------------------------


def test_change_priority_reports_the_tier_refusal_and_changes_the_others(
    acme, globex, agent, client
):
    selected = [acme[0], globex, acme[1]]
    response = post_action(client, "change_priority", selected, apply="yes", priority="p1")
    assert response.status_code == 302
    [message] = flash(response)
    assert message.startswith(f"2 tickets now P1; {globex.reference} refused: ")
    assert "does not cover P1" in message
    assert [fresh(t).priority for t in selected] == ["p1", "p3", "p1"]
    [event] = events_of(fresh(acme[0]), TicketEvent.Kind.PRIORITY)
    assert (event.actor, event.data["old"], event.data["new"]) == (agent.user, "p3", "p1")
    assert not events_of(fresh(globex), TicketEvent.Kind.PRIORITY)
    # Re-targeted from the ticket's start: Enterprise P1 resolves within 120 minutes.
    assert fresh(acme[0]).resolution_due_at == acme[0].created_at + timedelta(minutes=120)


def test_change_priority_form_needs_a_priority(acme, agent, client):
    response = post_action(client, "change_priority", acme, apply="yes", priority="")
    assert response.status_code == 200
    assert response.context["form"].errors == {"priority": ["This field is required."]}
    bogus = post_action(client, "change_priority", acme, apply="yes", priority="p9")
    assert list(bogus.context["form"].errors) == ["priority"]


# --- Status ---------------------------------------------------------------------------------


def test_set_pending_respects_the_status_rules_and_pauses_resolution(acme, agent, client):
    ticket_change_status(ticket=acme[1], status="closed", now=NOW, actor=agent.user)
    response = post_action(client, "set_pending", acme)
    [message] = flash(response)
    assert message == (
        f"2 tickets waiting on the customer; {acme[1].reference} refused: "
        f"{acme[1].reference} cannot go from closed to waiting on customer."
    )
    assert [fresh(t).status for t in acme] == ["pending", "closed", "pending"]
    stored = fresh(acme[0])
    [event] = events_of(stored, TicketEvent.Kind.STATUS)
    assert (event.actor, event.data["old"], event.data["new"]) == (agent.user, "new", "pending")
    assert stored.resolution_paused_at == NOW


def test_set_pending_on_a_pending_ticket_is_reported_not_repeated(acme, agent, client):
    post_action(client, "set_pending", acme[:1])
    response = post_action(client, "set_pending", acme[:1])
    assert flash(response)[-1].startswith(f"0 tickets waiting on the customer; {acme[0].reference}")
    assert len(events_of(fresh(acme[0]), TicketEvent.Kind.STATUS)) == 1


def test_resolve_with_a_note_replies_publicly_then_resolves(acme, agent, client):
    page = post_action(client, "resolve", acme[:2])
    assert page.status_code == 200
    assert "Resolution note" in page.content.decode()
    response = post_action(
        client, "resolve", acme[:2], apply="yes", note="Fixed in the 4.2 encoder release."
    )
    assert flash(response) == ["2 tickets resolved"]
    for ticket in acme[:2]:
        stored = fresh(ticket)
        assert (stored.status, stored.resolved_at, stored.resolution_met_at) == (
            "resolved",
            NOW,
            NOW,
        )
        reply = stored.messages.get(author=agent.user)
        assert reply.visibility == Message.Visibility.PUBLIC
        assert reply.body_text == "Fixed in the 4.2 encoder release."
        assert stored.first_response_met_at == NOW
        [resolved] = events_of(stored, TicketEvent.Kind.RESOLVED)
        assert resolved.actor == agent.user


def test_resolve_without_a_note_refuses_resolved_tickets_and_writes_nothing(acme, agent, client):
    post_action(client, "resolve", acme[:1], apply="yes", note="")
    response = post_action(client, "resolve", acme[:2], apply="yes", note="  ")
    assert flash(response)[-1] == (
        f"1 ticket resolved; {acme[0].reference} refused: "
        f"{acme[0].reference} cannot go from resolved to resolved."
    )
    assert not Message.objects.filter(author=agent.user).exists()
    assert [fresh(t).status for t in acme[:2]] == ["resolved", "resolved"]


# --- Merge ----------------------------------------------------------------------------------


def test_merge_page_asks_which_ticket_stays(acme, agent, client):
    response = post_action(client, "merge_duplicates", acme)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Ticket that stays" in page
    choices = response.context["form"].fields["primary"].choices
    assert sorted(value for value, _ in choices) == [t.pk for t in acme]
    missing = post_action(client, "merge_duplicates", acme, apply="yes")
    assert missing.context["form"].errors == {"primary": ["This field is required."]}
    outside = post_action(client, "merge_duplicates", acme[:2], apply="yes", primary=acme[2].pk)
    assert list(outside.context["form"].errors) == ["primary"]


def test_merge_closes_duplicates_into_the_primary_with_notes_and_events(acme, agent, client):
    primary, duplicates = acme[0], acme[1:]
    for_duplicate = Message.objects.filter(ticket__in=duplicates).count()
    response = post_action(client, "merge_duplicates", acme, apply="yes", primary=primary.pk)
    assert response.status_code == 302
    references = [t.reference for t in duplicates]
    assert flash(response) == [
        f"2 tickets merged into {primary.reference}: {', '.join(references)}"
    ]

    stored = fresh(primary)
    assert stored.status == "new"
    [merged] = events_of(stored, TicketEvent.Kind.MERGED)
    assert merged.actor == agent.user
    assert merged.data["from"] == references
    note = Message.objects.get(pk=merged.data["message"])
    assert (note.ticket_id, note.visibility) == (primary.pk, Message.Visibility.INTERNAL)
    assert all(reference in note.body_text for reference in references)

    for duplicate in duplicates:
        closed = fresh(duplicate)
        assert (closed.status, closed.closed_at) == ("closed", NOW)
        [into] = events_of(closed, TicketEvent.Kind.MERGED)
        assert (into.actor, into.data["into"]) == (agent.user, primary.reference)
        pointer = Message.objects.get(pk=into.data["message"])
        assert pointer.ticket_id == duplicate.pk
        assert pointer.visibility == Message.Visibility.PUBLIC
        assert primary.reference in pointer.body_text
        kinds = [e.kind for e in closed.events.order_by("id")]
        assert kinds.index("merged") == kinds.index("closed") - 1
        # A pointer to the primary is not an answer: the first response stays unmet.
        assert closed.first_response_met_at is None
    # Their messages stay where they were written (plus the pointer each).
    assert Message.objects.filter(ticket__in=duplicates).count() == for_duplicate + 2


def test_merged_tickets_owe_nothing_any_more(acme, agent, client):
    post_action(client, "merge_duplicates", acme, apply="yes", primary=acme[0].pk)
    later = NOW + timedelta(days=30)
    rows = Ticket.objects.annotate(due=next_due_at()).in_bulk([t.pk for t in acme])
    assert rows[acme[0].pk].due == acme[0].first_response_due_at
    for duplicate in acme[1:]:
        row = rows[duplicate.pk]
        assert row.due == FAR_FUTURE
        assert most_urgent(row, now=later) is None
        # Resolution met when it closed; the other clocks stopped where they were.
        assert row.resolution_met_at == NOW
        assert row.first_response_paused_at == NOW
        assert row.resolution_breached_at is None and row.first_response_breached_at is None
        # Out of the deadline sweep's queue: no clock waits for its attention.
        assert (row.first_response_alert_at, row.resolution_alert_at) == (None, None)
        # The history replays to the stored clocks (a merge moves them as a closing does).
        assert replay_differences(row, row.events.order_by("id")) == []
    assert not Ticket.objects.filter(pk__in=[t.pk for t in acme[1:]]).breached().exists()


def test_merge_across_organisations_is_refused(acme, globex, agent, client):
    response = post_action(client, "merge_duplicates", [acme[0], globex])
    assert response.status_code == 302
    assert flash(response) == [
        "Only tickets of one organisation can be merged; the selection has tickets of "
        "Acme Streaming, Globex Voice."
    ]
    assert fresh(globex).status == "new"
    with pytest.raises(TicketError, match="one organisation") as refused:
        ticket_merge(primary=acme[0], duplicates=[globex], actor=agent.user, now=NOW)
    assert refused.value.field == "duplicates"
    assert not TicketEvent.objects.filter(kind=TicketEvent.Kind.MERGED).exists()


def test_merge_refuses_a_closed_duplicate_and_changes_nothing(acme, agent, client):
    ticket_change_status(ticket=acme[2], status="closed", now=NOW, actor=agent.user)
    response = post_action(client, "merge_duplicates", acme, apply="yes", primary=acme[0].pk)
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "__all__": [f"{acme[2].reference} cannot go from closed to closed."]
    }
    assert fresh(acme[1]).status == "new"
    assert not TicketEvent.objects.filter(kind=TicketEvent.Kind.MERGED).exists()


def test_merge_needs_two_tickets(acme, agent, client):
    response = post_action(client, "merge_duplicates", acme[:1])
    assert flash(response) == ["Select two tickets or more to merge them."]


def test_merge_service_refuses_customers_and_self_merges(acme, requester_a, agent):
    with pytest.raises(TicketError, match="Only agents"):
        ticket_merge(primary=acme[0], duplicates=acme[1:], actor=requester_a.user, now=NOW)
    with pytest.raises(TicketError, match="into itself"):
        ticket_merge(primary=acme[0], duplicates=[acme[0]], actor=agent.user, now=NOW)


# --- Permissions ----------------------------------------------------------------------------


def test_actions_need_the_change_permission(acme, client):
    viewer = make_user("viewer", staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_ticket"))
    client.force_login(viewer)
    listing = client.get(reverse(CHANGELIST))
    assert listing.status_code == 200
    assert listing.context["action_form"] is None  # no action offered at all
    post_action(client, "assign_to_me", acme)
    assert all(fresh(t).assignee is None for t in acme)


@pytest.mark.parametrize("role", ["agent_ber", "lead_ber", "account_manager"])
def test_every_staff_role_that_changes_tickets_has_the_actions(role, acme, request, client):
    staff = request.getfixturevalue(role)
    staff_permissions_sync()  # the role's group, as `manage.py sync_staff_permissions` sets it
    client.force_login(staff.user)
    listing = client.get(reverse(CHANGELIST))
    names = [name for name, _ in listing.context["action_form"].fields["action"].choices]
    assert names[1:] == [
        "assign_to_me",
        "assign_to",
        "change_priority",
        "set_pending",
        "resolve",
        "merge_duplicates",
    ]


# --- Query counts ---------------------------------------------------------------------------


# Queries of one action on 1 and on 3 tickets (for a merge: 1 and 3 duplicates), the same on
# both databases: a fixed cost (session, user, permissions, the selection in one query), then
# a small constant per ticket (lock, clocks, update, events, the customer's email).
QUERY_COUNTS = {
    "assign_to_me": (16, 26),
    "set_pending": (16, 28),
    "change_priority": (15, 25),
    "resolve": (17, 31),
    "merge_duplicates": (19, 25),
}
FORMS = {
    "change_priority": {"apply": "yes", "priority": "p4"},
    "resolve": {"apply": "yes", "note": "Fixed."},
    "merge_duplicates": {"apply": "yes"},
}


@pytest.mark.parametrize("action", list(QUERY_COUNTS))
def test_query_counts_grow_by_a_small_constant_per_ticket(
    action, contract_a, requester_a, agent, client, django_assert_num_queries
):
    one, three = QUERY_COUNTS[action]
    merging = action == "merge_duplicates"
    tickets = [open_ticket(requester_a, f"Ticket {n}", minutes_ago=60 - n) for n in range(6)]
    small, large = (tickets[:2], tickets[2:]) if merging else (tickets[:1], tickets[1:4])
    client.get(reverse(CHANGELIST))  # the session and the user's permissions, once
    for selection, expected in ((small, one), (large, three)):
        data = {**FORMS.get(action, {})}
        if merging:
            data["primary"] = selection[0].pk
        with django_assert_num_queries(expected):
            response = post_action(client, action, selection, **data)
        assert response.status_code == 302
        assert "refused" not in flash(response)[0]
    # Linear: the same few queries for each further ticket (savepoint, lock, update, events,
    # its email, release), none for the selection.
    assert (three - one) % 2 == 0 and (three - one) // 2 <= 7


# --- API ------------------------------------------------------------------------------------


def merge_url(ticket: Ticket) -> str:
    return f"/api/v1/tickets/{ticket.reference}/merge/"


def test_an_agent_merges_through_the_api(acme, agent_ber):
    response = api_client(agent_ber.user).post(
        merge_url(acme[0]),
        {"duplicates": [t.reference.lower() for t in acme[1:]]},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["reference"] == acme[0].reference
    assert [fresh(t).status for t in acme] == ["new", "closed", "closed"]
    assert events_of(fresh(acme[1]), TicketEvent.Kind.MERGED)[0].data["into"] == acme[0].reference


def test_api_merge_refusals_name_the_duplicates(acme, globex, agent_ber):
    client = api_client(agent_ber.user)
    foreign = client.post(merge_url(acme[0]), {"duplicates": [globex.reference]}, format="json")
    error = error_of(foreign, 400, "invalid")
    assert "one organisation" in error["fields"]["duplicates"][0]
    unknown = client.post(merge_url(acme[0]), {"duplicates": ["MRD-999999"]}, format="json")
    assert error_of(unknown, 400, "invalid")["fields"]["duplicates"] == [
        "No such ticket: MRD-999999."
    ]
    empty = client.post(merge_url(acme[0]), {"duplicates": []}, format="json")
    assert "duplicates" in error_of(empty, 400, "invalid")["fields"]
    assert fresh(globex).status == "new"


def test_a_customer_cannot_merge_through_the_api(acme, globex, org_admin_a, requester_b):
    body = {"duplicates": [acme[1].reference]}
    forbidden = api_client(org_admin_a.user).post(merge_url(acme[0]), body, format="json")
    error_of(forbidden, 403, "permission_denied")
    hidden = api_client(requester_b.user).post(merge_url(acme[0]), body, format="json")
    error_of(hidden, 404, "not_found")
    assert fresh(acme[1]).status == "new"
    assert not TicketEvent.objects.filter(kind=TicketEvent.Kind.MERGED).exists()
