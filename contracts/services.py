"""Writes owned by the contracts app: contracts and their signature."""

import hashlib
import json
from datetime import date, datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F

from contracts.models import BusinessCalendar, Contract, SLATier
from portal.models import Organisation


class ContractError(Exception):
    """A contract operation the rules refuse; the message says why."""


def tier_terms(*, tier: SLATier) -> dict:
    """The terms a customer accepts when signing for `tier`, as plain JSON data."""
    return {
        "tier": {"code": tier.code, "name": tier.name},
        "monthly_fee": str(tier.monthly_fee),
        "currency": tier.currency,
        "coverage": tier.coverage,
        "compliance_objective": str(tier.compliance_objective),
        "pause_statuses": list(tier.pause_statuses),
        "paused_clocks": list(tier.paused_clocks),
        "warning_thresholds": list(tier.warning_thresholds),
        "targets": {
            target.priority: {clock: minutes for clock, minutes in target.minutes().items()}
            for target in tier.targets.order_by("priority")
        },
        "service_credits": [
            {"below_percent": str(band.below_percent), "credit_percent": str(band.credit_percent)}
            for band in tier.credit_bands.order_by("-below_percent")
        ],
    }


def terms_hash(terms: dict) -> str:
    """SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8): what was signed."""
    canonical = json.dumps(terms, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


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
        reference=reference,
        organisation=organisation,
        tier=tier,
        starts_on=starts_on,
        ends_on=ends_on,
        status=Contract.Status.DRAFT,
        terms=tier_terms(tier=tier),
    )
    try:
        contract.full_clean()
    except ValidationError as exc:
        raise ContractError("; ".join(exc.messages)) from exc
    with transaction.atomic():
        contract.save(force_insert=True)
    return contract


def contract_sign(
    *,
    contract: Contract,
    signer: AbstractBaseUser,
    now: datetime,
    ip: str | None,
    user_agent: str = "",
) -> Contract:
    """Record who accepted the exact terms, when and from where, and put the contract in force."""
    with transaction.atomic():
        contract = Contract.objects.select_for_update().get(pk=contract.pk)
        if contract.status != Contract.Status.DRAFT:
            raise ContractError(
                f"{contract.reference} is {contract.status}, not awaiting signature."
            )
        member = getattr(signer, "member", None)
        if member is None or member.organisation_id != contract.organisation_id:
            raise ContractError("Only a member of the customer organisation can sign.")
        if member.role != member.Role.ADMIN:
            raise ContractError("Only an organisation admin can sign contracts.")
        contract.status = Contract.Status.ACTIVE
        contract.signed_by = signer
        contract.signed_at = now
        contract.signed_ip = ip
        contract.signed_user_agent = user_agent[:400]
        contract.terms_hash = terms_hash(contract.terms)
        try:
            contract.full_clean()
        except ValidationError as exc:
            raise ContractError("; ".join(exc.messages)) from exc
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
    with transaction.atomic():
        contract = Contract.objects.select_for_update().get(pk=contract.pk)
        if contract.status != Contract.Status.ACTIVE:
            raise ContractError(f"{contract.reference} is {contract.status}, not active.")
        if ends_on < contract.starts_on:
            raise ContractError("A contract cannot end before it starts.")
        contract.ends_on = ends_on
        contract.save(update_fields=["ends_on", "updated_at"])
    return contract


def calendar_changed(*, calendar: BusinessCalendar) -> BusinessCalendar:
    """Record that a calendar's hours or dates changed: a new version for new tickets.

    Existing tickets keep the version they were created under.
    """
    with transaction.atomic():
        BusinessCalendar.objects.filter(pk=calendar.pk).update(version=F("version") + 1)
        calendar.refresh_from_db(fields=["version"])
    return calendar
