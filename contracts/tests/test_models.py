import hashlib
import json
from datetime import UTC, date, datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from contracts.models import BusinessCalendar, ComplianceStatement, Contract, Priority, SLATarget
from contracts.services import ContractError, contract_create, contract_end, contract_sign
from contracts.terms import terms_hash

SIGNED_AT = datetime(2026, 2, 1, 9, 30, tzinfo=UTC)


def by(member, contract) -> dict:
    """The signature of `member` accepting `contract`'s terms as shown."""
    return {
        "signer": member.user,
        "signed_name": member.user.get_full_name(),
        "consent": True,
        "shown_terms_hash": terms_hash(contract.terms),
    }


def test_a_tier_has_one_target_row_per_priority(tier_enterprise):
    with pytest.raises(IntegrityError), transaction.atomic():
        SLATarget.objects.create(
            tier=tier_enterprise,
            priority=Priority.P1,
            first_response_minutes=5,
            next_response_minutes=5,
            resolution_minutes=60,
        )


def test_target_minutes_must_be_positive(tier_standard):
    with pytest.raises(IntegrityError), transaction.atomic():
        SLATarget.objects.create(
            tier=tier_standard,
            priority=Priority.P1,
            first_response_minutes=0,
            next_response_minutes=5,
            resolution_minutes=60,
        )


def test_resolution_target_cannot_be_shorter_than_first_response(tier_standard):
    with pytest.raises(IntegrityError), transaction.atomic():
        SLATarget.objects.create(
            tier=tier_standard,
            priority=Priority.P1,
            first_response_minutes=60,
            next_response_minutes=60,
            resolution_minutes=30,
        )


def test_contract_cannot_end_before_it_starts(org_a, tier_standard):
    with pytest.raises(ContractError, match="cannot end before it starts"):
        contract_create(
            organisation=org_a,
            tier=tier_standard,
            starts_on=date(2026, 5, 1),
            ends_on=date(2026, 4, 30),
            reference="CT-X",
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Contract.objects.create(
            organisation=org_a,
            tier=tier_standard,
            starts_on=date(2026, 5, 1),
            ends_on=date(2026, 4, 30),
            reference="CT-Y",
        )


def test_an_unsigned_contract_cannot_be_active(org_a, tier_standard):
    with pytest.raises(IntegrityError), transaction.atomic():
        Contract.objects.create(
            organisation=org_a,
            tier=tier_standard,
            starts_on=date(2026, 5, 1),
            status=Contract.Status.ACTIVE,
            reference="CT-UNSIGNED",
        )


def test_signing_records_who_when_where_and_the_hash_of_the_exact_terms(
    org_a, org_admin_a, tier_enterprise
):
    draft = contract_create(
        organisation=org_a, tier=tier_enterprise, starts_on=date(2026, 3, 1), reference="CT-9"
    )
    signed = contract_sign(
        contract=draft,
        **by(org_admin_a, draft),
        now=SIGNED_AT,
        ip="203.0.113.9",
        user_agent="Firefox",
    )
    signed.refresh_from_db()
    canonical = json.dumps(signed.terms, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert signed.status == Contract.Status.ACTIVE
    assert signed.signed_by == org_admin_a.user
    assert signed.signed_at == SIGNED_AT
    assert signed.signed_ip == "203.0.113.9"
    assert signed.terms_hash == hashlib.sha256(canonical.encode()).hexdigest()
    assert signed.terms["targets"]["p1"] == {
        "first_response": 10,
        "next_response": 30,
        "workaround": 30,
        "root_cause": None,
        "resolution": 120,
    }
    assert signed.terms["around_the_clock"] == {}


def test_only_an_admin_of_the_customer_can_sign(org_a, requester_a, org_admin_b, tier_standard):
    draft = contract_create(
        organisation=org_a, tier=tier_standard, starts_on=date(2026, 3, 1), reference="CT-10"
    )
    with pytest.raises(ContractError, match="organisation admin"):
        contract_sign(contract=draft, now=SIGNED_AT, ip=None, **by(requester_a, draft))
    with pytest.raises(ContractError, match="member of the customer"):
        contract_sign(contract=draft, now=SIGNED_AT, ip=None, **by(org_admin_b, draft))
    draft.refresh_from_db()
    assert draft.status == Contract.Status.DRAFT


def test_a_contract_starting_on_or_after_the_new_one_cannot_be_overlapped(
    contract_a, org_a, org_admin_a, tier_standard
):
    later = contract_create(
        organisation=org_a, tier=tier_standard, starts_on=date(2026, 6, 1), reference="CT-A-2"
    )
    contract_sign(contract=later, now=SIGNED_AT, ip=None, **by(org_admin_a, later))
    overlapping = contract_create(
        organisation=org_a, tier=tier_standard, starts_on=date(2026, 3, 1), reference="CT-A-3"
    )
    with pytest.raises(ContractError, match="CT-A-2 is already signed from 2026-06-01"):
        contract_sign(contract=overlapping, now=SIGNED_AT, ip=None, **by(org_admin_a, overlapping))
    overlapping.refresh_from_db()
    contract_a.refresh_from_db()
    assert overlapping.status == Contract.Status.DRAFT
    # Nothing was ended on the way: the refusal rolled the whole signature back.
    assert contract_a.ends_on == date(2026, 5, 31)


def test_consecutive_contracts_do_not_overlap(contract_a, org_a, org_admin_a, tier_standard):
    contract_end(contract=contract_a, ends_on=date(2026, 5, 31))
    follow_up = contract_create(
        organisation=org_a, tier=tier_standard, starts_on=date(2026, 6, 1), reference="CT-A-2"
    )
    contract_sign(contract=follow_up, now=SIGNED_AT, ip=None, **by(org_admin_a, follow_up))
    assert [c.reference for c in Contract.objects.active_on(date(2026, 5, 31))] == ["CT-A-1"]
    assert [c.reference for c in Contract.objects.active_on(date(2026, 6, 1))] == ["CT-A-2"]


def test_postgresql_excludes_overlapping_active_contracts_even_without_clean(
    contract_a, org_a, org_admin_a, tier_standard
):
    if connection.vendor != "postgresql":
        pytest.skip("the exclusion constraint is PostgreSQL's; clean() covers SQLite")
    with (
        pytest.raises(IntegrityError, match="contract_one_active_per_org_day"),
        transaction.atomic(),
    ):
        Contract.objects.create(
            organisation=org_a,
            tier=tier_standard,
            starts_on=date(2026, 12, 1),
            ends_on=date(2026, 12, 31),
            status=Contract.Status.ACTIVE,
            signed_by=org_admin_a.user,
            signed_at=SIGNED_AT,
            terms_hash="0" * 64,
            reference="CT-A-RAW",
        )


def test_contracts_of_different_organisations_may_overlap(contract_a, contract_b):
    assert Contract.objects.active_on(date(2026, 7, 1)).count() == 2


def test_a_statement_covers_a_month_from_its_first_day(org_a):
    with pytest.raises(IntegrityError), transaction.atomic():
        ComplianceStatement.objects.create(
            organisation=org_a, month=date(2026, 5, 2), generated_at=SIGNED_AT
        )
    ComplianceStatement.objects.create(
        organisation=org_a, month=date(2026, 5, 1), generated_at=SIGNED_AT
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        ComplianceStatement.objects.create(
            organisation=org_a, month=date(2026, 5, 1), generated_at=SIGNED_AT
        )


def test_an_issued_statement_must_be_sealed_with_its_hash(org_a):
    with pytest.raises(IntegrityError), transaction.atomic():
        ComplianceStatement.objects.create(
            organisation=org_a,
            month=date(2026, 4, 1),
            generated_at=SIGNED_AT,
            status=ComplianceStatement.Status.ISSUED,
            issued_at=SIGNED_AT,
        )


def test_the_24x7_calendar_exists_from_the_first_migration(db):
    always = BusinessCalendar.objects.get(code="24x7")
    assert always.time_zone == "UTC"
    assert always.weekly["sun"] == [["00:00", "24:00"]]


def test_a_region_has_one_calendar_per_kind_of_hours(region_ber):
    with pytest.raises(IntegrityError), transaction.atomic():
        BusinessCalendar.objects.create(
            code="ber-business-2",
            name="Other",
            time_zone="Europe/Berlin",
            region=region_ber,
            hours=BusinessCalendar.Hours.BUSINESS,
        )


def test_calendar_weekly_hours_reject_unknown_days(region_ber):
    calendar = region_ber.calendars.get()
    calendar.weekly = {"monday": [["09:00", "17:00"]]}
    with pytest.raises(ValidationError, match="monday"):
        calendar.full_clean()
