"""The statements API: the documented fields, who reads what, the month filter, queries."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import api_client, error_of
from contracts.models import ComplianceStatement

NOW = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
LIST = "/api/v1/statements/"
FIELDS = {
    "id", "organisation", "month", "revision", "status", "reason", "content_hash",
    "compliance_percent", "objective", "credit", "currency", "issued_at", "superseded",
    "lines", "breaches", "coverage",
}  # fmt: skip
LINE = {
    "priority": "p1", "clock": "first_response", "in_scope": 12, "met": 11, "breached": 1,
    "compliance_percent": "91.67", "median_minutes": 4.5, "p90_minutes": 9.0,
}  # fmt: skip
BREACH = {
    "reference": "MRD-000123", "priority": "p1", "clock": "first_response",
    "due_at": "2026-10-03T08:10:00+00:00", "met_at": "2026-10-03T08:25:00+00:00",
    "overrun_minutes": 15.0,
}  # fmt: skip

pytestmark = pytest.mark.usefixtures("api_world")


def statement(organisation, *, month=date(2026, 10, 1), revision=1, issued=True, **extra):
    return ComplianceStatement.objects.create(
        organisation=organisation,
        month=month,
        revision=revision,
        reason=extra.pop("reason", "" if revision == 1 else "A clock was counted twice."),
        status="issued" if issued else "draft",
        generated_at=NOW,
        issued_at=NOW if issued else None,
        content_hash=f"{revision:064x}" if issued else "",
        lines=[LINE],
        breaches=[BREACH],
        compliance_percent=Decimal("91.67"),
        objective=Decimal("95.00"),
        credit_amount=Decimal("898.07"),
        **extra,
    )


def test_a_statement_carries_exactly_the_documented_fields(cast):
    first = statement(cast["org_a"])
    statement(cast["org_a"], revision=2)
    body = api_client(cast["org_admin_a"].user).get(f"{LIST}{first.pk}/").json()
    assert set(body) == FIELDS
    assert (body["organisation"], body["month"], body["credit"]) == ("acme", "2026-10", "898.07")
    assert body["superseded"] is True
    assert body["lines"] == [LINE]
    assert body["breaches"][0]["reference"] == "MRD-000123"


def test_admins_read_their_issued_revisions_account_managers_drafts_too(cast):
    one = statement(cast["org_a"])
    two = statement(cast["org_a"], revision=2)
    draft = statement(cast["org_a"], revision=3, issued=False, reason="Again.")
    statement(cast["org_b"])
    admin = api_client(cast["org_admin_a"].user).get(LIST).json()["results"]
    assert [s["id"] for s in admin] == [two.pk, one.pk]
    assert [s["superseded"] for s in admin] == [False, True]
    manager = api_client(cast["account_manager"].user).get(LIST).json()["results"]
    assert draft.pk in {s["id"] for s in manager} and len(manager) == 4
    assert len(api_client(cast["superuser"]).get(LIST).json()["results"]) == 4


@pytest.mark.parametrize("who", ["requester_a", "agent_ber"])
def test_requesters_and_other_staff_are_refused_the_list(cast, who):
    statement(cast["org_a"])
    user = cast[who].user
    error = error_of(api_client(user).get(LIST), 403, "permission_denied")
    assert "statements" in error["message"].lower()


def test_a_requester_gets_404_on_a_statement_of_their_own_organisation(cast):
    mine = statement(cast["org_a"])
    error_of(api_client(cast["requester_a"].user).get(f"{LIST}{mine.pk}/"), 404, "not_found")


@pytest.mark.parametrize("month", ["2026-13", "October", "2026-1", ""])
def test_a_bad_month_is_a_400_naming_month(cast, month):
    error = error_of(
        api_client(cast["org_admin_a"].user).get(LIST, {"month": month}), 400, "invalid"
    )
    assert list(error["fields"]) == ["month"]


def test_the_month_filter_keeps_that_month(cast):
    october = statement(cast["org_a"])
    statement(cast["org_a"], month=date(2026, 9, 1))
    body = api_client(cast["org_admin_a"].user).get(LIST, {"month": "2026-10"}).json()
    assert [s["id"] for s in body["results"]] == [october.pk]


def test_the_list_makes_as_many_queries_for_one_as_for_many(cast, django_assert_num_queries):
    client = api_client(cast["account_manager"].user)
    statement(cast["org_a"])
    with CaptureQueriesContext(connection) as few:
        client.get(LIST)
    for month in range(1, 9):
        statement(cast["org_b"], month=date(2026, month, 1))
    with django_assert_num_queries(len(few.captured_queries)):
        assert len(client.get(LIST).json()["results"]) == 9
