"""Signing: tier versions, what the customer was shown, the start date, upgrades, the history."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from contracts.models import Contract, ContractEvent, SLATarget, TierVersion
from contracts.selectors import offer_of
from contracts.services import (
    ContractError,
    ContractSignForbidden,
    ContractTermsChanged,
    contract_create,
    contract_draft_update,
    contract_sign,
    contract_sign_new,
    sla_target_save,
    tier_save,
)
from contracts.terms import terms_hash, tier_terms

# 23:30 in Berlin on 1 March: a contract may start on the 1st, not on 28 February.
NOW = datetime(2026, 3, 1, 22, 30, tzinfo=UTC)


def signature(member, shown: str) -> dict:
    return {
        "signer": member.user,
        "signed_name": "Olga Admin",
        "consent": True,
        "shown_terms_hash": shown,
        "now": NOW,
        "ip": "203.0.113.5",
        "user_agent": "Firefox/140",
    }


def test_editing_a_tier_makes_a_new_version_and_a_signed_contract_keeps_its_own(
    contract_a, tier_enterprise
):
    signed_version = contract_a.tier_version
    assert signed_version.version == 1
    assert signed_version.terms == contract_a.terms

    tier_enterprise.monthly_fee = Decimal("13000.00")
    tier_save(tier=tier_enterprise)
    p1 = SLATarget.objects.get(tier=tier_enterprise, priority="p1")
    p1.first_response_minutes = 15
    sla_target_save(target=p1)
    # Saving without a change makes no version.
    tier_save(tier=tier_enterprise)

    versions = list(TierVersion.objects.filter(tier=tier_enterprise).order_by("version"))
    assert [v.version for v in versions] == [1, 2, 3]
    assert versions[-1].terms == tier_terms(tier=tier_enterprise)
    assert versions[-1].terms_hash == terms_hash(versions[-1].terms)
    assert versions[-1].terms["targets"]["p1"]["first_response"] == 15
    contract_a.refresh_from_db()
    assert contract_a.tier_version_id == signed_version.pk
    assert contract_a.terms["monthly_fee"] == "12000.00"
    assert contract_a.terms["targets"]["p1"]["first_response"] == 10


def test_the_hash_recorded_is_the_hash_of_the_terms_shown(org_a, org_admin_a, tier_standard):
    shown = offer_of(tier_standard)
    contract = contract_sign_new(
        organisation=org_a,
        tier=tier_standard,
        starts_on=date(2026, 3, 1),
        **signature(org_admin_a, shown.terms_hash),
    )
    contract.refresh_from_db()
    assert contract.status == Contract.Status.ACTIVE
    assert contract.terms == shown.terms
    assert contract.terms_hash == shown.terms_hash == terms_hash(contract.terms)
    assert contract.tier_version.terms_hash == shown.terms_hash
    assert (contract.signed_name, contract.signed_ip, contract.signed_user_agent) == (
        "Olga Admin",
        "203.0.113.5",
        "Firefox/140",
    )
    assert contract.signed_at == NOW
    assert contract.reference.startswith("CT-2026-")
    event = contract.events.get(kind=ContractEvent.Kind.SIGNED)
    assert (event.actor, event.at, event.detail["terms_hash"]) == (
        org_admin_a.user,
        NOW,
        shown.terms_hash,
    )


def test_terms_changed_after_they_were_shown_are_refused(org_a, org_admin_a, tier_standard):
    shown = offer_of(tier_standard)
    tier_standard.compliance_objective = Decimal("90.00")
    tier_save(tier=tier_standard)
    with pytest.raises(ContractTermsChanged, match="review them again"):
        contract_sign_new(
            organisation=org_a,
            tier=tier_standard,
            starts_on=date(2026, 3, 1),
            **signature(org_admin_a, shown.terms_hash),
        )
    assert not Contract.objects.filter(organisation=org_a).exists()


def test_a_draft_changed_after_it_was_shown_is_refused(org_a, org_admin_a, tier_standard):
    draft = contract_create(
        organisation=org_a, tier=tier_standard, starts_on=date(2026, 4, 1), reference="CT-D"
    )
    shown = terms_hash(draft.terms)
    tier_standard.monthly_fee = Decimal("1.00")
    tier_save(tier=tier_standard)
    contract_draft_update(
        contract=draft, tier=tier_standard, starts_on=date(2026, 4, 1), ends_on=None
    )
    with pytest.raises(ContractTermsChanged):
        contract_sign(contract=draft, **signature(org_admin_a, shown))
    draft.refresh_from_db()
    assert draft.status == Contract.Status.DRAFT


def test_a_requester_cannot_sign(org_a, requester_a, tier_standard):
    with pytest.raises(ContractSignForbidden, match="organisation admin"):
        contract_sign_new(
            organisation=org_a,
            tier=tier_standard,
            starts_on=date(2026, 3, 1),
            **signature(requester_a, offer_of(tier_standard).terms_hash),
        )
    assert not Contract.objects.filter(organisation=org_a).exists()


def test_the_start_date_cannot_be_in_the_past_in_the_home_zone(org_a, org_admin_a, tier_standard):
    with pytest.raises(ContractError, match="2026-02-28 is in the past") as refused:
        contract_sign_new(
            organisation=org_a,
            tier=tier_standard,
            starts_on=date(2026, 2, 28),
            **signature(org_admin_a, offer_of(tier_standard).terms_hash),
        )
    assert refused.value.field == "starts_on"


@pytest.mark.parametrize(
    ("name", "consent", "field"), [("  ", True, "full_name"), ("Olga Admin", False, "consent")]
)
def test_a_signature_needs_a_typed_name_and_consent(
    org_a, org_admin_a, tier_standard, name, consent, field
):
    inputs = signature(org_admin_a, offer_of(tier_standard).terms_hash)
    inputs.update(signed_name=name, consent=consent)
    with pytest.raises(ContractError) as refused:
        contract_sign_new(
            organisation=org_a, tier=tier_standard, starts_on=date(2026, 3, 1), **inputs
        )
    assert refused.value.field == field


def test_an_upgrade_ends_the_contract_in_force_the_day_before(
    contract_a, org_a, org_admin_a, tier_standard
):
    new = contract_sign_new(
        organisation=org_a,
        tier=tier_standard,
        starts_on=date(2026, 4, 1),
        **signature(org_admin_a, offer_of(tier_standard).terms_hash),
    )
    contract_a.refresh_from_db()
    assert contract_a.ends_on == date(2026, 3, 31)
    assert contract_a.status == Contract.Status.ACTIVE
    assert [c.reference for c in Contract.objects.active_on(date(2026, 3, 31))] == ["CT-A-1"]
    assert [c.reference for c in Contract.objects.active_on(date(2026, 4, 1))] == [new.reference]
    ended = contract_a.events.get(kind=ContractEvent.Kind.ENDED)
    assert (ended.actor, ended.at, ended.detail) == (
        org_admin_a.user,
        NOW,
        {"ends_on": "2026-03-31", "previous_ends_on": None},
    )


def test_a_contract_that_starts_the_same_day_cannot_be_overlapped(
    contract_a, org_a, org_admin_a, tier_standard
):
    upcoming = contract_sign_new(
        organisation=org_a,
        tier=tier_standard,
        starts_on=date(2026, 5, 1),
        **signature(org_admin_a, offer_of(tier_standard).terms_hash),
    )
    with pytest.raises(ContractError, match="already signed from 2026-05-01") as refused:
        contract_sign_new(
            organisation=org_a,
            tier=tier_standard,
            starts_on=date(2026, 5, 1),
            **signature(org_admin_a, offer_of(tier_standard).terms_hash),
        )
    assert refused.value.field == "starts_on"
    assert set(Contract.objects.filter(organisation=org_a, status="active")) == {
        upcoming,
        contract_a,
    }


def test_drafting_and_signing_are_recorded_with_who_and_when(org_a, org_admin_a, tier_standard):
    draft = contract_create(
        organisation=org_a,
        tier=tier_standard,
        starts_on=date(2026, 4, 1),
        reference="CT-H",
        now=NOW,
    )
    contract_sign(contract=draft, **signature(org_admin_a, terms_hash(draft.terms)))
    assert [(e.kind, e.actor) for e in draft.events.order_by("pk")] == [
        ("drafted", None),
        ("signed", org_admin_a.user),
    ]
