"""A contract's standing is its stored status read against its dates on the viewer's day: one
that ended yesterday reads "Ended" everywhere, and no new ticket runs under it."""

import re
from datetime import UTC, date, datetime

import pytest
from django.urls import reverse

from conftest import api_client
from contracts.models import Contract
from contracts.selectors import sla_terms_for
from contracts.services import contract_cancel, contract_create, contract_end
from portal.services import staff_permissions_sync
from tickets.services import ticket_create

Standing = Contract.Standing

# Monday 9 March 2026, 20:00 UTC: still Monday in Berlin (21:00), already Tuesday 10 March in
# Singapore (04:00).
EVENING_UTC = datetime(2026, 3, 9, 20, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "starts_on", "ends_on", "day", "standing"),
    [
        ("draft", date(2026, 1, 1), None, date(2026, 3, 1), Standing.DRAFT),
        ("cancelled", date(2026, 1, 1), None, date(2026, 3, 1), Standing.CANCELLED),
        ("active", date(2026, 4, 1), None, date(2026, 3, 31), Standing.UPCOMING),
        ("active", date(2026, 4, 1), None, date(2026, 4, 1), Standing.ACTIVE),
        ("active", date(2026, 1, 1), date(2026, 3, 9), date(2026, 3, 9), Standing.ACTIVE),
        ("active", date(2026, 1, 1), date(2026, 3, 9), date(2026, 3, 10), Standing.ENDED),
        ("active", date(2026, 1, 1), None, date(2030, 1, 1), Standing.ACTIVE),
        ("ended", date(2026, 1, 1), date(2026, 3, 9), date(2026, 2, 1), Standing.ENDED),
    ],
)
def test_standing_reads_the_status_against_the_dates(status, starts_on, ends_on, day, standing):
    contract = Contract(status=status, starts_on=starts_on, ends_on=ends_on)
    assert contract.standing_on(day) == standing


def test_the_standing_filter_agrees_with_the_standing_of_each_contract(
    contract_a, contract_b, org_a, tier_standard
):
    ended = contract_end(contract=contract_b, ends_on=date(2026, 3, 9))
    draft = contract_create(
        organisation=org_a, tier=tier_standard, starts_on=date(2027, 1, 1), reference="CT-A-2"
    )
    cancelled = contract_create(
        organisation=org_a, tier=tier_standard, starts_on=date(2027, 2, 1), reference="CT-A-3"
    )
    cancelled = contract_cancel(contract=cancelled)
    contracts = [contract_a, ended, draft, cancelled]
    for day in (date(2025, 12, 31), date(2026, 3, 9), date(2026, 3, 10)):
        for standing in Standing.values:
            filtered = set(Contract.objects.standing_on(day, standing))
            expected = {c for c in contracts if c.standing_on(day) == standing}
            assert filtered == expected, (day, standing)
    assert set(Contract.objects.standing_on(date(2025, 12, 31), "upcoming")) == {contract_a, ended}
    assert set(Contract.objects.standing_on(date(2026, 3, 10), "ended")) == {ended}


@pytest.fixture
def ended_yesterday_in_singapore(cast, time_machine):
    """Globex's contract ended on Monday 9 March; it is Monday evening in UTC."""
    time_machine.move_to(EVENING_UTC, tick=False)
    staff_permissions_sync()
    return contract_end(contract=cast["contract_b"], ends_on=date(2026, 3, 9))


def standing_column(client) -> dict[str, str]:
    response = client.get(reverse("admin:contracts_contract_changelist"))
    assert response.status_code == 200
    rows = re.findall(
        r'<th class="field-reference"><a [^>]*>([^<]+)</a></th>.*?'
        r'<td class="field-standing">([^<]+)</td>',
        response.content.decode(),
        re.DOTALL,
    )
    return dict(rows)


def test_the_desk_shows_a_contract_past_its_end_date_as_ended_in_the_agents_zone(
    ended_yesterday_in_singapore, cast, client
):
    client.force_login(cast["agent_sg"].user)  # Singapore: already Tuesday
    assert standing_column(client) == {"CT-A-1": "Active", "CT-B-1": "Ended"}
    ended = client.get(reverse("admin:contracts_contract_changelist") + "?standing=ended")
    assert [c.reference for c in ended.context["cl"].result_list] == ["CT-B-1"]
    active = client.get(reverse("admin:contracts_contract_changelist") + "?standing=active")
    assert [c.reference for c in active.context["cl"].result_list] == ["CT-A-1"]

    client.force_login(cast["agent_ber"].user)  # Berlin: still Monday, its last day
    assert standing_column(client) == {"CT-A-1": "Active", "CT-B-1": "Active"}


def test_the_contract_page_shows_the_standing_not_the_stored_status(
    ended_yesterday_in_singapore, cast, client
):
    client.force_login(cast["agent_sg"].user)
    contract = ended_yesterday_in_singapore
    page = client.get(reverse("admin:contracts_contract_change", args=[contract.pk]))
    assert page.status_code == 200
    assert "Standing today" in page.content.decode()
    assert page.context["adminform"].form.instance.standing_on(date(2026, 3, 10)) == "ended"


def test_the_api_gives_the_standing_on_the_viewers_day(ended_yesterday_in_singapore, cast):
    for user, expected in (
        (cast["requester_b"].user, "ended"),  # a Singapore member
        (cast["agent_ber"].user, "active"),
        (cast["agent_sg"].user, "ended"),
    ):
        body = api_client(user, token=True).get("/api/v1/contracts/CT-B-1/").json()
        assert (body["status"], body["standing"]) == ("active", expected), user


def test_no_ticket_runs_under_a_contract_past_its_end_date(ended_yesterday_in_singapore, cast):
    # Singapore's day is Tuesday: the contract that ended on Monday promises nothing.
    assert sla_terms_for(organisation=cast["org_b"], at=EVENING_UTC) is None
    ticket = ticket_create(
        organisation=cast["org_b"],
        requester=cast["requester_b"],
        channel="web",
        subject="Broken",
        body_text="It is broken.",
        priority="p3",
        now=EVENING_UTC,
    )
    assert ticket.sla_contract_id is None
    assert ticket.first_response_due_at is None
    # On its last day (Berlin's Monday for a Berlin customer) it still holds.
    assert sla_terms_for(organisation=cast["org_a"], at=EVENING_UTC).contract == cast["contract_a"]
