"""Writes owned by the contracts app: contracts and their signature, calendars and their
versions, tiers and escalation policies.

Each public function validates, then writes in one durable transaction of its own.
"""

from collections.abc import Sequence
from datetime import date, datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F, Model
from django.utils.translation import gettext as _

from contracts.calendars import custom_dates_of, version_frozen, version_frozen_note
from contracts.models import (
    BusinessCalendar,
    CalendarHoliday,
    CalendarVersion,
    Contract,
    EscalationPolicy,
    ServiceCreditBand,
    SLATarget,
    SLATier,
)
from contracts.terms import terms_hash, tier_terms
from portal.errors import Refusal
from portal.models import Organisation
from portal.services.rows import Row, inline_rows_write, row_save, rows_check


class ContractError(Refusal):
    """A contract operation the rules refuse; the message says why."""


def _checked(rows: Sequence[Model], *, exclude: Sequence[str] = ()) -> None:
    rows_check(rows, refusal=ContractError, exclude=exclude)


def _saved(row: Row) -> Row:
    return row_save(row, refusal=ContractError)


def _locked(contract: Contract) -> Contract:
    return Contract.objects.select_for_update().get(pk=contract.pk)


# --- Contracts -----------------------------------------------------------------------------


def contract_create(
    *,
    organisation: Organisation,
    tier: SLATier,
    starts_on: date,
    ends_on: date | None = None,
    reference: str,
) -> Contract:
    """A draft contract with the tier's current terms, waiting for a signature."""
    contract = Contract(
        reference=reference.strip(),
        organisation=organisation,
        tier=tier,
        starts_on=starts_on,
        ends_on=ends_on,
        status=Contract.Status.DRAFT,
    )
    with transaction.atomic(durable=True):
        contract.terms = tier_terms(tier=tier)
        _checked([contract])
        contract.save(force_insert=True)
    return contract


def contract_draft_update(
    *, contract: Contract, tier: SLATier, starts_on: date, ends_on: date | None
) -> Contract:
    """Change a contract before it is signed: its tier (and so its terms, taken afresh from
    the tier) and its dates. A signed contract never changes its terms."""
    with transaction.atomic(durable=True):
        contract = _locked(contract)
        if contract.status != Contract.Status.DRAFT:
            raise ContractError(
                _("%(reference)s is signed; its terms and dates can no longer change.")
                % {"reference": contract.reference}
            )
        contract.tier = tier
        contract.starts_on = starts_on
        contract.ends_on = ends_on
        contract.terms = tier_terms(tier=tier)
        _checked([contract])
        contract.save(update_fields=["tier", "starts_on", "ends_on", "terms", "updated_at"])
    return contract


def contract_sign(
    *,
    contract: Contract,
    signer: User,
    now: datetime,
    ip: str | None,
    user_agent: str = "",
) -> Contract:
    """Record who accepted the exact terms, when and from where, and put the contract in force."""
    with transaction.atomic(durable=True):
        contract = _locked(contract)
        if contract.status != Contract.Status.DRAFT:
            raise ContractError(
                _("%(reference)s is %(status)s, not awaiting signature.")
                % {"reference": contract.reference, "status": contract.status}
            )
        member = getattr(signer, "member", None)
        if member is None or member.organisation_id != contract.organisation_id:
            raise ContractError(_("Only a member of the customer organisation can sign."))
        if member.role != member.Role.ADMIN:
            raise ContractError(_("Only an organisation admin can sign contracts."))
        contract.status = Contract.Status.ACTIVE
        contract.signed_by = signer
        contract.signed_at = now
        contract.signed_ip = ip
        contract.signed_user_agent = user_agent[:400]
        contract.terms_hash = terms_hash(contract.terms)
        _checked([contract])
        contract.save(
            update_fields=[
                "status",
                "signed_by",
                "signed_at",
                "signed_ip",
                "signed_user_agent",
                "terms_hash",
                "updated_at",
            ]
        )
    return contract


def contract_end(*, contract: Contract, ends_on: date) -> Contract:
    """End a contract on `ends_on` (inclusive); it stays active until then."""
    with transaction.atomic(durable=True):
        contract = _locked(contract)
        if contract.status != Contract.Status.ACTIVE:
            raise ContractError(
                _("%(reference)s is %(status)s, not active.")
                % {"reference": contract.reference, "status": contract.status}
            )
        if ends_on < contract.starts_on:
            raise ContractError(_("A contract cannot end before it starts."), field="ends_on")
        contract.ends_on = ends_on
        contract.save(update_fields=["ends_on", "updated_at"])
    return contract


def contract_cancel(*, contract: Contract) -> Contract:
    """Withdraw a contract nobody signed; it stays on record as cancelled."""
    with transaction.atomic(durable=True):
        contract = _locked(contract)
        if contract.status != Contract.Status.DRAFT:
            raise ContractError(
                _("%(reference)s is signed; end it instead of cancelling it.")
                % {"reference": contract.reference}
            )
        contract.status = Contract.Status.CANCELLED
        contract.save(update_fields=["status", "updated_at"])
    return contract


# --- Calendars -----------------------------------------------------------------------------


def calendar_version_snapshot(*, calendar: BusinessCalendar) -> None:
    """Freeze `calendar` at its current version, if nobody did yet. Call inside the
    transaction of the ticket that first uses the version.

    Known frozen versions are remembered per process, so this costs no query once a version is
    in use; the first time, one read of the custom dates and one insert that leaves an existing
    copy alone.
    """
    if version_frozen(calendar_id=calendar.pk, version=calendar.version):
        return
    CalendarVersion.objects.bulk_create(
        [
            CalendarVersion(
                calendar=calendar,
                version=calendar.version,
                time_zone=calendar.time_zone,
                weekly=calendar.weekly,
                holiday_country=calendar.holiday_country,
                holiday_subdivision=calendar.holiday_subdivision,
                custom_dates=custom_dates_of(calendar),
            )
        ],
        ignore_conflicts=True,
    )
    # Remembered once the row is committed: a rolled-back ticket leaves no frozen copy.
    transaction.on_commit(
        lambda: version_frozen_note(calendar_id=calendar.pk, version=calendar.version)
    )


def _version_bump(calendar: BusinessCalendar) -> None:
    BusinessCalendar.objects.filter(pk=calendar.pk).update(version=F("version") + 1)
    calendar.refresh_from_db(fields=["version"])


def calendar_save(
    *,
    calendar: BusinessCalendar,
    custom_dates: Sequence[CalendarHoliday] = (),
    removed_dates: Sequence[CalendarHoliday] = (),
    changed: bool = True,
) -> BusinessCalendar:
    """Add or change a calendar with its custom dates. A change to an existing calendar makes
    a new version (`changed`: something differs), so new tickets use the new hours while
    existing tickets keep theirs."""
    exists = calendar.pk is not None
    _checked([calendar], exclude=["version"])
    with transaction.atomic(durable=True):
        calendar.save()
        inline_rows_write(
            calendar,
            parent_field="calendar",
            saved=custom_dates,
            deleted=removed_dates,
            refusal=ContractError,
        )
        if exists and (changed or custom_dates or removed_dates):
            _version_bump(calendar)
    return calendar


def calendar_holiday_save(*, holiday: CalendarHoliday) -> CalendarHoliday:
    """Add or change one custom date; its calendar gets a new version."""
    _checked([holiday])
    with transaction.atomic(durable=True):
        holiday.save()
        _version_bump(holiday.calendar)
    return holiday


def calendar_holiday_remove(*, holiday: CalendarHoliday) -> None:
    """Remove one custom date; its calendar gets a new version."""
    with transaction.atomic(durable=True):
        holiday.delete()
        _version_bump(holiday.calendar)


# --- Tiers and escalation policies ----------------------------------------------------------


def tier_save(
    *,
    tier: SLATier,
    targets: Sequence[SLATarget] = (),
    removed_targets: Sequence[SLATarget] = (),
    credit_bands: Sequence[ServiceCreditBand] = (),
    removed_credit_bands: Sequence[ServiceCreditBand] = (),
) -> SLATier:
    """Add or change a tier with its targets and credit bands. Contracts signed before keep
    the terms they signed; only contracts created from now on take the new ones."""
    _checked([tier])
    with transaction.atomic(durable=True):
        tier.save()
        inline_rows_write(
            tier,
            parent_field="tier",
            saved=[*targets, *credit_bands],
            deleted=[*removed_targets, *removed_credit_bands],
            refusal=ContractError,
        )
    return tier


def sla_target_save(*, target: SLATarget) -> SLATarget:
    return _saved(target)


def credit_band_save(*, band: ServiceCreditBand) -> ServiceCreditBand:
    return _saved(band)


def escalation_policy_save(*, policy: EscalationPolicy) -> EscalationPolicy:
    """Who hears about a warning or a breach for a tier and priority."""
    return _saved(policy)
