"""What a contract promises: the terms a customer signs, their hash, and the promise a ticket
keeps for life (`SLATerms`).

The signed terms are the promise. They are verified against their hash every time they are
read for a ticket or a statement (`signed_terms`): a mismatch is an error naming the contract,
never a silent fall-back to the tier as it is today.
"""

import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from contracts.models import BusinessCalendar, Contract, SLATier
from contracts.sla_names import Priority
from portal.errors import Refusal


class ContractTermsMismatch(Refusal):
    """A contract's stored terms no longer match the hash taken when it was signed."""

    status = 409
    code = "contract_terms_mismatch"


def _amount(value: Decimal | int | str) -> str:
    # Two decimals, as stored: a tier typed as "13000" and read back as "13000.00" has the
    # same terms, and so the same hash.
    return f"{Decimal(value):.2f}"


def tier_terms(*, tier: SLATier) -> dict[str, Any]:
    """The terms a customer accepts when signing for `tier`, as plain JSON data."""
    return {
        "tier": {"code": tier.code, "name": tier.name},
        "monthly_fee": _amount(tier.monthly_fee),
        "currency": tier.currency,
        "coverage": tier.coverage,
        "compliance_objective": _amount(tier.compliance_objective),
        "pause_statuses": list(tier.pause_statuses),
        "paused_clocks": list(tier.paused_clocks),
        "warning_thresholds": list(tier.warning_thresholds),
        "targets": {
            target.priority: {clock: minutes for clock, minutes in target.minutes().items()}
            for target in tier.targets.order_by("priority")
        },
        "around_the_clock": {
            target.priority: list(target.around_the_clock)
            for target in tier.targets.order_by("priority")
            if target.around_the_clock
        },
        "service_credits": [
            {
                "below_percent": _amount(band.below_percent),
                "credit_percent": _amount(band.credit_percent),
            }
            for band in tier.credit_bands.order_by("-below_percent")
        ],
        "p1_breach_credit_percent": _amount(tier.p1_breach_credit_percent),
        "credit_cap_percent": _amount(tier.credit_cap_percent),
    }


def terms_hash(terms: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8): what was signed."""
    canonical = json.dumps(terms, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def signed_terms(contract: Contract) -> dict[str, Any]:
    """The terms `contract` was signed with, after checking them against their hash.

    Raises `ContractTermsMismatch` (naming the contract) when a contract is unsigned, or its
    terms were changed after signing.
    """
    if not contract.terms_hash or not contract.terms:
        raise ContractTermsMismatch(
            _("Contract %(reference)s has no signed terms.") % {"reference": contract.reference}
        )
    if terms_hash(contract.terms) != contract.terms_hash:
        raise ContractTermsMismatch(
            _(
                "The terms of contract %(reference)s do not match the ones signed (their hash "
                "differs); nothing can be promised under it until they are restored."
            )
            % {"reference": contract.reference}
        )
    return contract.terms


def priority_refusal(*, tier_name: str, priority: str, covered: list[str]) -> str:
    """Why a priority the contract does not cover is refused, the same words everywhere."""
    return _("The %(tier)s contract does not cover %(priority)s; choose one of %(allowed)s.") % {
        "tier": tier_name,
        "priority": priority.upper(),
        "allowed": ", ".join(p.upper() for p in sorted(covered)),
    }


@dataclass(frozen=True)
class SLATerms:
    """What a ticket created now is promised: the snapshot it keeps for life."""

    contract: Contract
    tier: SLATier
    calendar: BusinessCalendar
    calendar_version: int
    targets: dict[str, dict[str, int | None]]
    pause_statuses: list[str]
    paused_clocks: list[str]
    warning_thresholds: list[int]
    tier_name: str
    # Per priority, the clocks counted around the clock (terms signed before the option: none).
    around_the_clock: dict[str, list[str]] = field(default_factory=dict)

    def allows(self, priority: str) -> bool:
        """Does the contract cover this priority?"""
        return priority in self.targets

    def refusal(self, priority: str) -> str | None:
        """Why `priority` is refused under this contract, or None when it is covered."""
        if self.allows(priority):
            return None
        return priority_refusal(
            tier_name=self.tier_name, priority=priority, covered=list(self.targets)
        )

    @property
    def priorities(self) -> list[str]:
        """The covered priorities, most urgent first."""
        return [p for p in Priority.values if p in self.targets]
