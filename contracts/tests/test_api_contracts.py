"""Contracts and SLA tiers over the API: customers see theirs, staff see all."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from conftest import api_client, make_tier
from contracts.models import Priority, ServiceCreditBand, SLATier
from contracts.services import contract_create

# The tiers promise as the demo's do: the root cause, fixes counted around the clock.
pytestmark = pytest.mark.four_promises

CONTRACTS = "/api/v1/contracts/"
TIERS = "/api/v1/tiers/"


def test_a_member_lists_the_contracts_of_their_organisation_only(cast):
    body = api_client(cast["requester_a"].user).get(CONTRACTS).json()
    (contract,) = body["results"]
    assert contract["reference"] == "CT-A-1"
    assert contract["organisation"] == {"slug": "acme", "name": "Acme Streaming"}
    assert contract["tier"] == {"code": "enterprise", "name": "Enterprise"}
    assert (contract["status"], contract["starts_on"], contract["ends_on"]) == (
        "active",
        "2026-01-01",
        None,
    )
    assert contract["signed_by"] == {"username": "olga.admin@acme.test", "name": "Olga Admin"}
    assert contract["signed_at"] == "2025-12-20T10:00:00Z"
    assert contract["terms"]["targets"]["p1"]["first_response"] == 10
    assert len(contract["terms_hash"]) == 64
    assert "signed_ip" not in contract


def test_staff_list_every_contract(cast):
    body = api_client(cast["agent_sg"].user).get(CONTRACTS).json()
    assert [c["reference"] for c in body["results"]] == ["CT-A-1", "CT-B-1"]


def test_a_contract_is_read_by_its_reference(cast):
    response = api_client(cast["org_admin_b"].user).get(f"{CONTRACTS}CT-B-1/")
    assert response.json()["tier"]["code"] == "standard"
    assert response.json()["url"] == "http://testserver/api/v1/contracts/CT-B-1/"


def test_a_member_sees_the_tiers_of_their_contracts_with_targets_and_credits(cast):
    ServiceCreditBand.objects.create(
        tier=cast["contract_b"].tier, below_percent=Decimal("95"), credit_percent=Decimal("10")
    )
    ServiceCreditBand.objects.create(
        tier=cast["contract_b"].tier, below_percent=Decimal("90"), credit_percent=Decimal("25")
    )
    (tier,) = api_client(cast["requester_b"].user).get(TIERS).json()["results"]
    assert (tier["code"], tier["coverage"], tier["monthly_fee"]) == (
        "standard",
        "business",
        "1500.00",
    )
    assert [t["priority"] for t in tier["targets"]] == ["p2", "p3", "p4"]
    assert tier["targets"][0] == {
        "priority": "p2",
        "first_response_minutes": 120,
        "next_response_minutes": 240,
        "workaround_minutes": None,
        "root_cause_minutes": None,
        "resolution_minutes": 2880,
        "around_the_clock": [],
    }
    p4 = tier["targets"][2]
    assert (p4["root_cause_minutes"], p4["around_the_clock"]) == (None, ["resolution"])
    assert tier["credit_bands"] == [
        {"below_percent": "95.00", "credit_percent": "10.00"},
        {"below_percent": "90.00", "credit_percent": "25.00"},
    ]
    assert (tier["pause_statuses"], tier["paused_clocks"]) == (
        ["pending"],
        ["workaround", "root_cause", "resolution"],
    )


def test_a_tier_with_several_contracts_of_the_organisation_is_listed_once(cast):
    renewal = contract_create(
        organisation=cast["org_a"],
        tier=cast["contract_a"].tier,
        starts_on=date(2027, 1, 1),
        reference="CT-A-2",
    )
    body = api_client(cast["org_admin_a"].user).get(TIERS).json()
    assert [tier["code"] for tier in body["results"]] == ["enterprise"]
    contracts = api_client(cast["org_admin_a"].user).get(CONTRACTS).json()["results"]
    assert [(c["reference"], c["status"]) for c in contracts] == [
        ("CT-A-1", "active"),
        (renewal.reference, "draft"),
    ]


def test_staff_see_every_tier(cast):
    make_tier("business", SLATier.Coverage.EXTENDED, {Priority.P1: (30, 60, 120, 480)})
    body = api_client(cast["agent_ber"].user).get(TIERS).json()
    assert [tier["code"] for tier in body["results"]] == ["business", "enterprise", "standard"]
    assert api_client(cast["agent_ber"].user).get(f"{TIERS}business/").status_code == 200


@pytest.mark.parametrize("path", [CONTRACTS, TIERS])
def test_contract_and_tier_lists_make_the_same_number_of_queries_for_few_and_many(
    cast, path, django_assert_num_queries
):
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=cast['superuser']).key}"
    )
    with CaptureQueriesContext(connection) as few:
        client.get(path)
    for n in range(8):
        tier = make_tier(f"tier-{n}", SLATier.Coverage.BUSINESS, {Priority.P3: (60, 60, None, 600)})
        ServiceCreditBand.objects.create(tier=tier, below_percent=90, credit_percent=5)
        contract_create(
            organisation=cast["org_a"], tier=tier, starts_on=date(2027, 1, 1), reference=f"CT-X-{n}"
        )
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(path)
    assert len(response.json()["results"]) == 10


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_contracts_and_tiers_are_read_only(cast, method):
    client = api_client(cast["org_admin_a"].user)
    for path in (CONTRACTS, f"{CONTRACTS}CT-A-1/", TIERS, f"{TIERS}enterprise/"):
        response = getattr(client, method)(path, {"status": "cancelled"})
        assert response.status_code == 405, path
        assert response.json()["error"]["code"] == "method_not_allowed"
