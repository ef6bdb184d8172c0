"""The caller's organisation, and organisations for staff."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from conftest import api_client, make_member, make_region
from portal.models import EmailDomain, Organisation

MINE = "/api/v1/organisation/"
ALL = "/api/v1/organisations/"


def test_a_member_reads_their_organisation_and_their_role(cast):
    body = api_client(cast["requester_a"].user).get(MINE).json()
    assert body == {
        "slug": "acme",
        "name": "Acme Streaming",
        "home_region": {"code": "ber", "name": "Berlin", "time_zone": "Europe/Berlin"},
        "email_domains": ["acme.test"],
        "shares_tickets": False,
        "role": "requester",
    }
    assert api_client(cast["org_admin_b"].user).get(MINE).json()["role"] == "admin"


def test_an_agent_has_no_organisation_of_their_own(cast):
    response = api_client(cast["agent_ber"].user).get(MINE)
    assert response.status_code == 404
    assert "staff see organisations/" in response.json()["error"]["message"]


def test_staff_list_every_organisation_with_its_account_manager(cast):
    body = api_client(cast["account_manager"].user).get(ALL).json()
    assert [row["slug"] for row in body["results"]] == ["acme", "globex"]
    acme = body["results"][0]
    assert acme["account_manager"] == {"username": "am.sophie", "name": "Am Sophie"}
    assert acme["email_domains"] == ["acme.test"]
    assert acme["url"] == "http://testserver/api/v1/organisations/acme/"
    assert api_client(cast["agent_sg"].user).get(acme["url"]).json()["name"] == "Acme Streaming"


def test_a_customer_sees_only_their_own_organisation_in_the_list(cast):
    body = api_client(cast["requester_b"].user).get(ALL).json()
    assert [row["slug"] for row in body["results"]] == ["globex"]
    assert api_client(cast["requester_b"].user).get(f"{ALL}globex/").status_code == 200


def test_the_organisation_list_makes_the_same_number_of_queries_for_2_and_12(
    cast, django_assert_num_queries
):
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=cast['agent_ber'].user).key}"
    )
    with CaptureQueriesContext(connection) as two:
        assert len(client.get(ALL).json()["results"]) == 2
    region = make_region("nyc", "New York", "America/New_York", "US", "NY")
    for n in range(10):
        organisation = Organisation.objects.create(
            name=f"Customer {n}", slug=f"customer-{n}", home_region=region
        )
        EmailDomain.objects.create(organisation=organisation, domain=f"c{n}.test")
        make_member(f"m{n}@c{n}.test", organisation)
    with django_assert_num_queries(len(two.captured_queries)):
        assert len(client.get(ALL).json()["results"]) == 12


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_organisations_are_read_only(cast, method):
    response = getattr(api_client(cast["superuser"]), method)(f"{ALL}acme/", {"name": "Mine now"})
    assert response.status_code == 405
    response = getattr(api_client(cast["org_admin_a"].user), method)(MINE, {"name": "Mine now"})
    assert response.status_code == 405
    assert Organisation.objects.get(slug="acme").name == "Acme Streaming"
