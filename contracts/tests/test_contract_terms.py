"""Signed terms cannot change: the support desk makes contracts through `contract_create`, shows
a signed contract's terms read-only, and every read of the terms for a ticket checks them
against the hash taken at signing; a mismatch is an error naming the contract, never a silent
fall-back to the tier."""

from datetime import UTC, date, datetime

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from contracts.models import Contract
from contracts.selectors import sla_terms_for
from contracts.services import contract_create
from contracts.terms import ContractTermsMismatch, signed_terms, terms_hash
from portal.services import staff_permissions_sync
from tickets.models import Ticket
from tickets.services import ticket_create

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def account_manager_desk(account_manager, client):
    staff_permissions_sync()
    client.force_login(account_manager.user)
    return client


def tamper(contract: Contract) -> None:
    """Someone edits the stored terms behind the services' back."""
    terms = dict(contract.terms)
    terms["targets"] = {**terms["targets"], "p1": {**terms["targets"]["p1"], "resolution": 999}}
    Contract.objects.filter(pk=contract.pk).update(terms=terms)


def test_the_desk_creates_a_contract_as_a_draft_with_the_tiers_terms(
    account_manager_desk, org_a, tier_enterprise
):
    response = account_manager_desk.post(
        reverse("admin:contracts_contract_add"),
        {
            "reference": "CT-NEW-1",
            "organisation": org_a.pk,
            "tier": tier_enterprise.pk,
            "starts_on": "2026-04-01",
            "ends_on": "",
        },
    )
    assert response.status_code == 302
    contract = Contract.objects.get(reference="CT-NEW-1")
    assert contract.status == Contract.Status.DRAFT
    assert contract.terms["targets"]["p1"]["first_response"] == 10
    assert contract.terms_hash == ""


def test_a_signed_contracts_terms_tier_signer_and_status_are_read_only(
    account_manager_desk, contract_a, tier_standard
):
    url = reverse("admin:contracts_contract_change", args=[contract_a.pk])
    form = account_manager_desk.get(url).context["adminform"].form
    assert set(form.fields) == {"ends_on"}
    # A crafted post cannot change them either: only the end date is taken.
    response = account_manager_desk.post(
        url,
        {
            "ends_on": "2026-12-31",
            "tier": tier_standard.pk,
            "status": "draft",
            "terms": "{}",
            "signed_by": "",
        },
    )
    assert response.status_code == 302
    stored = Contract.objects.get(pk=contract_a.pk)
    assert (stored.tier_id, stored.status, stored.ends_on) == (
        contract_a.tier_id,
        Contract.Status.ACTIVE,
        date(2026, 12, 31),
    )
    assert stored.terms == contract_a.terms
    assert stored.signed_by_id == contract_a.signed_by_id


def test_a_drafts_tier_and_dates_can_change_and_take_the_new_tiers_terms(
    account_manager_desk, org_a, tier_enterprise, tier_standard
):
    draft = contract_create(
        organisation=org_a, tier=tier_enterprise, starts_on=date(2026, 4, 1), reference="CT-D"
    )
    response = account_manager_desk.post(
        reverse("admin:contracts_contract_change", args=[draft.pk]),
        {"tier": tier_standard.pk, "starts_on": "2026-05-01", "ends_on": ""},
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.tier, draft.starts_on) == (tier_standard, date(2026, 5, 1))
    assert "p1" not in draft.terms["targets"]


def test_the_desk_shows_whether_the_signed_terms_still_match_their_hash(
    account_manager_desk, contract_a
):
    url = reverse("admin:contracts_contract_change", args=[contract_a.pk])
    assert "Verified: the stored terms match" in account_manager_desk.get(url).content.decode()
    tamper(contract_a)
    assert "do not match the ones signed" in account_manager_desk.get(url).content.decode()


def test_terms_that_no_longer_match_their_hash_name_the_contract(contract_a, org_a):
    assert sla_terms_for(organisation=org_a, at=NOW).targets["p1"]["resolution"] == 120
    tamper(contract_a)
    with pytest.raises(ContractTermsMismatch, match="CT-A-1"):
        sla_terms_for(organisation=org_a, at=NOW)


def test_a_contract_without_signed_terms_is_an_error_not_the_tiers_terms(contract_a, org_a):
    Contract.objects.filter(pk=contract_a.pk).update(terms={})
    with pytest.raises(ContractTermsMismatch, match="CT-A-1 has no signed terms"):
        sla_terms_for(organisation=org_a, at=NOW)


def test_the_hash_is_of_the_terms_as_signed(contract_a):
    assert contract_a.terms_hash == terms_hash(contract_a.terms)
    assert signed_terms(contract_a) == contract_a.terms


def test_no_ticket_is_opened_under_tampered_terms(contract_a, requester_a):
    tamper(contract_a)
    with pytest.raises(ContractTermsMismatch, match="CT-A-1"):
        ticket_create(
            organisation=requester_a.organisation,
            requester=requester_a,
            channel="web",
            subject="Stream down",
            body_text="Nothing plays.",
            priority="p1",
            now=NOW,
        )
    assert not Ticket.objects.exists()


def test_the_api_answers_a_tampered_contract_with_a_conflict_naming_it(
    contract_a, requester_a, time_machine
):
    time_machine.move_to(NOW, tick=False)
    tamper(contract_a)
    client = APIClient()
    client.force_authenticate(requester_a.user)
    response = client.post(
        "/api/v1/tickets/", {"subject": "Down", "description": "x", "priority": "p1"}
    )
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "contract_terms_mismatch"
    assert "CT-A-1" in error["message"]
    assert not Ticket.objects.exists()


def test_the_portal_says_the_contract_cannot_be_verified_and_files_nothing(
    contract_a, requester_a, client, time_machine
):
    time_machine.move_to(NOW, tick=False)
    tamper(contract_a)
    client.force_login(requester_a.user)
    page = client.get(reverse("tickets:new"))
    assert page.status_code == 409
    assert "The terms of contract CT-A-1 do not match" in page.content.decode()
    posted = client.post(
        reverse("tickets:new"),
        {"subject": "Down", "description": "x", "priority": "p1", "product_area": "other"},
    )
    assert posted.status_code == 409
    assert not Ticket.objects.exists()
    dashboard = client.get(reverse("home")).content.decode()
    assert "The terms of contract CT-A-1 do not match" in dashboard
