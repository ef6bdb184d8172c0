"""Writes owned by the contracts app: contracts and their signature, calendars and their
versions, tiers and escalation policies.

Each public function validates, then writes in one durable transaction of its own.
"""

import functools
import secrets
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from celery import current_app
from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Model, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from contracts.calendars import custom_dates_of, version_frozen, version_frozen_note
from contracts.models import (
    BusinessCalendar,
    CalendarHoliday,
    CalendarVersion,
    Contract,
    ContractEvent,
    EscalationPolicy,
    ServiceCreditBand,
    SLATarget,
    SLATier,
    TierVersion,
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
    return (
        Contract.objects.select_for_update()
        .select_related("organisation__home_region")
        .get(pk=contract.pk)
    )


# --- Contracts -----------------------------------------------------------------------------


# The task of `contracts.tasks` that runs `contract_draft_notify` (tasks import the services,
# not back); a test checks the name against the task.
DRAFT_MAIL_TASK = "contracts.tasks.send_contract_draft_mail"


class ContractTermsChanged(ContractError):
    """The terms the customer was shown are not the ones on offer any more."""

    status = 409
    code = "terms_changed"


class ContractSignForbidden(ContractError):
    """The person is a member of the organisation but not allowed to sign for it."""

    status = 403
    code = "permission_denied"


def _event(
    contract: Contract,
    kind: str,
    *,
    actor: User | None,
    at: datetime,
    detail: dict[str, Any] | None = None,
) -> None:
    ContractEvent.objects.create(
        contract=contract, kind=kind, actor=actor, at=at, detail=detail or {}
    )


def tier_version_record(*, tier: SLATier) -> TierVersion:
    """The tier's current terms as a version: the latest one when the terms are unchanged, a
    new one otherwise. Call inside the caller's transaction, after the tier's rows are written.

    The tier row is locked first, so two edits at once number their versions one after the
    other instead of both taking the same number; and read afresh, so the terms are the
    stored values (a fee typed as "13000" is stored and shown as "13000.00").
    """
    tier = SLATier.objects.select_for_update().get(pk=tier.pk)
    terms = tier_terms(tier=tier)
    digest = terms_hash(terms)
    latest = TierVersion.objects.filter(tier=tier).order_by("-version").first()
    if latest is not None and latest.terms_hash == digest:
        return latest
    return TierVersion.objects.create(
        tier=tier,
        version=(latest.version + 1) if latest else 1,
        terms=terms,
        terms_hash=digest,
    )


def _reference(now: datetime) -> str:
    # Random rather than counted: two customers signing at once never race for a number, and
    # the unique constraint catches the one-in-sixteen-million clash.
    return f"CT-{now:%Y}-{secrets.token_hex(3).upper()}"


def contract_create(
    *,
    organisation: Organisation,
    tier: SLATier,
    starts_on: date,
    ends_on: date | None = None,
    reference: str,
    actor: User | None = None,
    now: datetime | None = None,
    notify_customer: bool = False,
) -> Contract:
    """A draft contract on the tier's current version, waiting for a signature.

    `notify_customer`: the organisation's admins are emailed a link to sign it once the
    transaction commits (an account manager's draft)."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        contract = _draft(
            organisation=organisation,
            tier=tier,
            starts_on=starts_on,
            ends_on=ends_on,
            reference=reference,
            actor=actor,
            now=now,
        )
        if notify_customer:
            transaction.on_commit(
                functools.partial(current_app.send_task, DRAFT_MAIL_TASK, args=[contract.pk])
            )
    return contract


def _draft(
    *,
    organisation: Organisation,
    tier: SLATier,
    starts_on: date,
    ends_on: date | None,
    reference: str,
    actor: User | None,
    now: datetime,
) -> Contract:
    version = tier_version_record(tier=tier)
    contract = Contract(
        reference=reference.strip(),
        organisation=organisation,
        tier=tier,
        tier_version=version,
        starts_on=starts_on,
        ends_on=ends_on,
        status=Contract.Status.DRAFT,
        terms=version.terms,
    )
    _checked([contract])
    contract.save(force_insert=True)
    _event(contract, ContractEvent.Kind.DRAFTED, actor=actor, at=now)
    return contract


def contract_draft_update(
    *,
    contract: Contract,
    tier: SLATier,
    starts_on: date,
    ends_on: date | None,
    actor: User | None = None,
    now: datetime | None = None,
) -> Contract:
    """Change a contract before it is signed: its tier (and so its terms, taken afresh from
    the tier's current version) and its dates. A signed contract never changes its terms."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        contract = _locked(contract)
        if contract.status != Contract.Status.DRAFT:
            raise ContractError(
                _("%(reference)s is signed; its terms and dates can no longer change.")
                % {"reference": contract.reference}
            )
        version = tier_version_record(tier=tier)
        contract.tier = tier
        contract.tier_version = version
        contract.starts_on = starts_on
        contract.ends_on = ends_on
        contract.terms = version.terms
        _checked([contract])
        contract.save(
            update_fields=["tier", "tier_version", "starts_on", "ends_on", "terms", "updated_at"]
        )
        _event(contract, ContractEvent.Kind.CHANGED, actor=actor, at=now)
    return contract


def _home_today(organisation: Organisation, now: datetime) -> date:
    return now.astimezone(ZoneInfo(organisation.home_region.time_zone)).date()


def _sign(
    contract: Contract,
    *,
    signer: User,
    signed_name: str,
    consent: bool,
    shown_terms_hash: str,
    now: datetime,
    ip: str | None,
    user_agent: str,
) -> Contract:
    """Sign a locked draft, inside the caller's transaction: the rules every way of signing
    shares, then the upgrade (a contract in force or upcoming ends the day before)."""
    if contract.status != Contract.Status.DRAFT:
        raise ContractError(
            _("%(reference)s is %(status)s, not awaiting signature.")
            % {"reference": contract.reference, "status": contract.status}
        )
    member = getattr(signer, "member", None)
    if member is None or member.organisation_id != contract.organisation_id:
        raise ContractError(_("Only a member of the customer organisation can sign."))
    if member.role != member.Role.ADMIN:
        raise ContractSignForbidden(_("Only an organisation admin can sign contracts."))
    name = " ".join(signed_name.split())
    if not name:
        raise ContractError(_("Type your full name to sign."), field="full_name")
    if not consent:
        raise ContractError(
            _("Tick the box to confirm you accept these terms for your organisation."),
            field="consent",
        )
    shown_terms = terms_hash(contract.terms)
    if shown_terms_hash.strip().lower() != shown_terms:
        raise ContractTermsChanged(
            _("The terms changed since they were shown to you; review them again and sign.")
        )
    today = _home_today(contract.organisation, now)
    if contract.starts_on < today:
        raise ContractError(
            _("The start date %(day)s is in the past; choose today or a later day.")
            % {"day": contract.starts_on.isoformat()},
            field="starts_on",
        )
    _upgrade(contract, actor=signer, now=now)
    contract.status = Contract.Status.ACTIVE
    contract.signed_by = signer
    contract.signed_at = now
    contract.signed_ip = ip
    contract.signed_user_agent = user_agent[:400]
    contract.signed_name = name[:200]
    contract.terms_hash = shown_terms
    _checked([contract])
    contract.save(
        update_fields=[
            "status",
            "signed_by",
            "signed_at",
            "signed_ip",
            "signed_user_agent",
            "signed_name",
            "terms_hash",
            "updated_at",
        ]
    )
    _event(
        contract,
        ContractEvent.Kind.SIGNED,
        actor=signer,
        at=now,
        detail={"terms_hash": shown_terms, "ip": ip, "name": contract.signed_name},
    )
    return contract


def _upgrade(contract: Contract, *, actor: User, now: datetime) -> None:
    """End every signed contract of the organisation still covering `contract`'s start the day
    before it; one that starts on that day or later cannot be shortened, so the new one would
    overlap it and is refused."""
    covering = (
        Contract.objects.select_for_update()
        .filter(organisation_id=contract.organisation_id, status=Contract.Status.ACTIVE)
        .exclude(pk=contract.pk)
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=contract.starts_on))
        .order_by("starts_on")
    )
    if contract.ends_on is not None:
        covering = covering.filter(starts_on__lte=contract.ends_on)
    for old in covering:
        if old.starts_on >= contract.starts_on:
            raise ContractError(
                _(
                    "%(reference)s is already signed from %(day)s: a new contract cannot start "
                    "on or before it. Choose a later start date."
                )
                % {"reference": old.reference, "day": old.starts_on.isoformat()},
                field="starts_on",
            )
        _end(old, ends_on=contract.starts_on - timedelta(days=1), actor=actor, now=now)


def contract_sign(
    *,
    contract: Contract,
    signer: User,
    signed_name: str,
    consent: bool,
    shown_terms_hash: str,
    now: datetime,
    ip: str | None,
    user_agent: str = "",
) -> Contract:
    """Sign a draft: record who accepted the exact terms shown (`shown_terms_hash`), under which
    typed name, when and from where, and put the contract in force from its start date. A
    contract in force or upcoming ends the day before (an upgrade), in the same transaction."""
    with transaction.atomic(durable=True):
        contract = _locked(contract)
        return _sign(
            contract,
            signer=signer,
            signed_name=signed_name,
            consent=consent,
            shown_terms_hash=shown_terms_hash,
            now=now,
            ip=ip,
            user_agent=user_agent,
        )


def contract_sign_new(
    *,
    organisation: Organisation,
    tier: SLATier,
    starts_on: date,
    signer: User,
    signed_name: str,
    consent: bool,
    shown_terms_hash: str,
    now: datetime,
    ip: str | None,
    user_agent: str = "",
) -> Contract:
    """A customer's admin signs for a tier on offer: the draft on the tier's current version
    and its signature in one transaction. Refused (`ContractTermsChanged`) when the tier's
    terms are no longer those whose hash the customer was shown."""
    with transaction.atomic(durable=True):
        contract = _draft(
            organisation=organisation,
            tier=tier,
            starts_on=starts_on,
            ends_on=None,
            reference=_reference(now),
            actor=signer,
            now=now,
        )
        return _sign(
            contract,
            signer=signer,
            signed_name=signed_name,
            consent=consent,
            shown_terms_hash=shown_terms_hash,
            now=now,
            ip=ip,
            user_agent=user_agent,
        )


def _end(contract: Contract, *, ends_on: date, actor: User | None, now: datetime) -> Contract:
    if contract.status != Contract.Status.ACTIVE:
        raise ContractError(
            _("%(reference)s is %(status)s, not active.")
            % {"reference": contract.reference, "status": contract.status}
        )
    if ends_on < contract.starts_on:
        raise ContractError(_("A contract cannot end before it starts."), field="ends_on")
    previous = contract.ends_on
    contract.ends_on = ends_on
    contract.save(update_fields=["ends_on", "updated_at"])
    _event(
        contract,
        ContractEvent.Kind.ENDED,
        actor=actor,
        at=now,
        detail={
            "ends_on": ends_on.isoformat(),
            "previous_ends_on": previous.isoformat() if previous else None,
        },
    )
    return contract


def contract_end(
    *,
    contract: Contract,
    ends_on: date,
    actor: User | None = None,
    now: datetime | None = None,
) -> Contract:
    """End a contract on `ends_on` (inclusive); it stays active until then."""
    with transaction.atomic(durable=True):
        return _end(_locked(contract), ends_on=ends_on, actor=actor, now=now or timezone.now())


def contract_cancel(
    *, contract: Contract, actor: User | None = None, now: datetime | None = None
) -> Contract:
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
        _event(contract, ContractEvent.Kind.CANCELLED, actor=actor, at=now or timezone.now())
    return contract


def contract_draft_notify(*, contract: Contract) -> int:
    """Email the organisation's admins a link to sign the draft; how many were sent. Outside
    any transaction (a task calls it after the draft committed)."""
    if contract.status != Contract.Status.DRAFT:
        return 0
    admins = contract.organisation.members.filter(role="admin").select_related("user")
    link = f"{settings.SITE_URL}{reverse('contracts:sign', args=[contract.reference])}"
    sent = 0
    for member in admins:
        if not member.user.email or member.email_bouncing_since is not None:
            continue
        subject = _("Contract %(reference)s is ready for your signature") % {
            "reference": contract.reference
        }
        body = _(
            "Hello %(name)s,\n\n"
            "Your account manager prepared contract %(reference)s for %(organisation)s: "
            "the %(tier)s tier from %(starts_on)s.\n\n"
            "Review the terms and sign it here:\n%(link)s\n\n"
            "Meridian support"
        ) % {
            "name": member.user.get_full_name() or member.user.get_username(),
            "reference": contract.reference,
            "organisation": contract.organisation.name,
            "tier": contract.terms.get("tier", {}).get("name", contract.tier.name),
            "starts_on": contract.starts_on.isoformat(),
            "link": link,
        }
        sent += send_mail(subject, body, None, [member.user.email])
    return sent


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
    """Add or change a tier with its targets and credit bands; a change of its terms makes a
    new version (`tier_version_record`). Contracts keep the version they were drafted from;
    only contracts created from now on take the new one."""
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
        tier_version_record(tier=tier)
    return tier


def sla_target_save(*, target: SLATarget) -> SLATarget:
    """One target of a tier; its tier gets a new version when its terms changed."""
    _checked([target])
    with transaction.atomic(durable=True):
        target.save()
        tier_version_record(tier=target.tier)
    return target


def credit_band_save(*, band: ServiceCreditBand) -> ServiceCreditBand:
    """One credit band of a tier; its tier gets a new version when its terms changed."""
    _checked([band])
    with transaction.atomic(durable=True):
        band.save()
        tier_version_record(tier=band.tier)
    return band


def escalation_policy_save(*, policy: EscalationPolicy) -> EscalationPolicy:
    """Who hears about a warning or a breach for a tier and priority."""
    return _saved(policy)
