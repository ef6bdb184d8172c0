"""Business calendars, SLA tiers with their targets, contracts and compliance statements."""

from datetime import date
from decimal import Decimal

import holidays
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy

from contracts.business_time import WorkingSchedule
from contracts.sla_names import Clock, Priority
from portal.models import Organisation, Region, Team
from portal.timezones import time_zone_choices, validate_time_zone

# Ticket statuses a tier may declare as pausing (the customer holds the ball).
PAUSABLE_STATUSES = ("pending",)
DEFAULT_PAUSE_STATUSES = ["pending"]
DEFAULT_PAUSED_CLOCKS = [Clock.WORKAROUND.value, Clock.ROOT_CAUSE.value, Clock.RESOLUTION.value]
DEFAULT_WARNING_THRESHOLDS = [50, 80]


def default_pause_statuses() -> list[str]:
    return list(DEFAULT_PAUSE_STATUSES)


def default_paused_clocks() -> list[str]:
    return list(DEFAULT_PAUSED_CLOCKS)


def default_warning_thresholds() -> list[int]:
    return list(DEFAULT_WARNING_THRESHOLDS)


class BusinessCalendar(models.Model):
    """Open hours in a time zone: weekly intervals plus public and custom holidays.

    `weekly` maps `mon`..`sun` to lists of `["HH:MM", "HH:MM"]` local intervals (several a day
    for split shifts; an end before its start runs overnight; `00:00`-`24:00` daily is 24x7).
    A calendar attached to a region describes that region's hours: `business` is its support
    shift and the customers' business hours there, `extended` the longer day some tiers buy.
    """

    class Hours(models.TextChoices):
        BUSINESS = "business", "Business hours"
        EXTENDED = "extended", "Extended hours"
        ALWAYS = "always", "24x7"

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    time_zone = models.CharField(
        max_length=64, choices=time_zone_choices, validators=[validate_time_zone]
    )
    weekly = models.JSONField(
        default=dict, help_text='e.g. {"mon": [["09:00", "17:00"]], "tue": [...], ...}'
    )
    holiday_country = models.CharField(
        max_length=2, blank=True, help_text="ISO 3166 country for public holidays, e.g. DE."
    )
    holiday_subdivision = models.CharField(
        max_length=10, blank=True, help_text="Optional subdivision, e.g. BE for Berlin."
    )
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, null=True, blank=True, related_name="calendars"
    )
    hours = models.CharField(max_length=10, choices=Hours.choices, default=Hours.BUSINESS)
    team = models.OneToOneField(
        Team,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="shift_calendar",
        help_text="The team whose shift these hours are (a team without one works its region's "
        "business hours).",
    )
    # Bumped on every change to hours or holidays; schedules are cached per version.
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["region", "hours"],
                condition=Q(region__isnull=False),
                name="calendar_one_per_region_hours",
            ),
            models.CheckConstraint(
                condition=Q(hours__in=["business", "extended", "always"]),
                name="calendar_hours_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        try:
            WorkingSchedule(self.time_zone, self.weekly)
        except ValueError as exc:
            errors["weekly"] = str(exc)
        if self.holiday_subdivision and not self.holiday_country:
            errors["holiday_subdivision"] = "A subdivision needs a country."
        elif self.holiday_country:
            try:
                holidays.country_holidays(
                    self.holiday_country, subdiv=self.holiday_subdivision or None, years=2026
                )
            except NotImplementedError as exc:
                errors["holiday_country"] = str(exc)
        if errors:
            raise ValidationError(errors)


class CalendarVersion(models.Model):
    """A calendar as it was at one version. Tickets keep the version they were created under,
    so a later change of hours or holidays never moves an existing ticket's deadlines."""

    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.PROTECT, related_name="versions"
    )
    version = models.PositiveIntegerField()
    time_zone = models.CharField(max_length=64)
    weekly = models.JSONField()
    holiday_country = models.CharField(max_length=2, blank=True)
    holiday_subdivision = models.CharField(max_length=10, blank=True)
    custom_dates = models.JSONField(
        default=list, help_text='[["2026-12-24", true], ...]: date and whether it is closed.'
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["calendar", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "version"], name="calendarversion_unique")
        ]

    def __str__(self) -> str:
        return f"{self.calendar} v{self.version}"


class CalendarHoliday(models.Model):
    """A custom date on a calendar: closed (company holiday) or open despite a public holiday."""

    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="custom_dates"
    )
    date = models.DateField()
    name = models.CharField(max_length=120)
    closed = models.BooleanField(
        default=True, help_text="Untick to keep the calendar open on a public holiday."
    )

    class Meta:
        ordering = ["calendar", "date"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="calendarholiday_unique_date")
        ]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.name}"


class SLATier(models.Model):
    """What a customer buys: targets per priority, the hours they run in, credits when missed."""

    class Coverage(models.TextChoices):
        BUSINESS = "business", "Business hours of the customer's region"
        EXTENDED = "extended", "Extended hours of the customer's region"
        ALWAYS = "always", "24x7"

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80, unique=True)
    description = models.TextField(blank=True)
    monthly_fee = models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    currency = models.CharField(max_length=3, default="EUR")
    coverage = models.CharField(max_length=10, choices=Coverage.choices)
    pause_statuses = models.JSONField(
        default=default_pause_statuses, help_text="Ticket statuses that pause clocks."
    )
    paused_clocks = models.JSONField(
        default=default_paused_clocks, help_text="Clocks those statuses pause."
    )
    warning_thresholds = models.JSONField(
        default=default_warning_thresholds,
        help_text="Percentages of a target's business time at which to warn.",
    )
    compliance_objective = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("95.00"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text="Share of the month's promises (clocks due in the month) that must be met, "
        "in percent.",
    )
    p1_breach_credit_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text="Credit for each P1 promise broken in a month, in percent of the monthly fee.",
    )
    credit_cap_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("100"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text="The most a month's credits can reach, in percent of the fee for the days "
        "the contract covered.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["monthly_fee"]
        verbose_name = "SLA tier"
        constraints = [
            models.CheckConstraint(
                condition=Q(coverage__in=["business", "extended", "always"]),
                name="tier_coverage_valid",
            ),
            models.CheckConstraint(
                condition=Q(compliance_objective__gte=0, compliance_objective__lte=100),
                name="tier_objective_percent",
            ),
            models.CheckConstraint(condition=Q(monthly_fee__gte=0), name="tier_fee_not_negative"),
            models.CheckConstraint(
                condition=Q(p1_breach_credit_percent__gte=0, p1_breach_credit_percent__lte=100)
                & Q(credit_cap_percent__gte=0, credit_cap_percent__lte=100),
                name="tier_credit_percents",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        if not isinstance(self.pause_statuses, list) or not set(self.pause_statuses) <= set(
            PAUSABLE_STATUSES
        ):
            errors["pause_statuses"] = f"Only these statuses can pause: {PAUSABLE_STATUSES}."
        if not isinstance(self.paused_clocks, list) or not set(self.paused_clocks) <= set(
            Clock.values
        ):
            errors["paused_clocks"] = f"Known clocks are {', '.join(Clock.values)}."
        thresholds = self.warning_thresholds
        if not isinstance(thresholds, list) or not all(
            isinstance(t, int) and 0 < t < 100 for t in thresholds
        ):
            errors["warning_thresholds"] = "Whole percentages between 1 and 99."
        elif len(set(thresholds)) != len(thresholds):
            errors["warning_thresholds"] = "Each threshold once."
        if errors:
            raise ValidationError(errors)


def validate_around_the_clock(value: object) -> None:
    if not isinstance(value, list) or not set(value) <= set(Clock.values):
        raise ValidationError(
            gettext_lazy("Known clocks are %(clocks)s."), params={"clocks": ", ".join(Clock.values)}
        )
    if len(set(value)) != len(value):
        raise ValidationError(gettext_lazy("Each clock once."))


class SLATarget(models.Model):
    """A tier's promise for one priority: minutes per clock, each counted in the coverage
    calendar, or around the clock for the clocks `around_the_clock` names ("fix within 48
    hours" on a business-hours tier)."""

    tier = models.ForeignKey(SLATier, on_delete=models.CASCADE, related_name="targets")
    priority = models.CharField(max_length=2, choices=Priority.choices)
    first_response_minutes = models.PositiveIntegerField()
    next_response_minutes = models.PositiveIntegerField()
    workaround_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="Empty when the tier promises no workaround."
    )
    root_cause_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="Empty when the tier promises no root cause."
    )
    resolution_minutes = models.PositiveIntegerField(
        help_text="Until the fix is delivered (the ticket resolved)."
    )
    around_the_clock = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_around_the_clock],
        help_text="The clocks whose target counts every hour of the week rather than in the "
        "coverage calendar.",
    )

    class Meta:
        ordering = ["tier", "priority"]
        verbose_name = "SLA target"
        constraints = [
            models.UniqueConstraint(fields=["tier", "priority"], name="slatarget_one_per_priority"),
            models.CheckConstraint(
                condition=Q(priority__in=["p1", "p2", "p3", "p4"]), name="slatarget_priority_valid"
            ),
            models.CheckConstraint(
                condition=Q(
                    first_response_minutes__gt=0,
                    next_response_minutes__gt=0,
                    resolution_minutes__gt=0,
                )
                & (Q(workaround_minutes__isnull=True) | Q(workaround_minutes__gt=0))
                & (Q(root_cause_minutes__isnull=True) | Q(root_cause_minutes__gt=0)),
                name="slatarget_minutes_positive",
            ),
            models.CheckConstraint(
                condition=Q(resolution_minutes__gte=models.F("first_response_minutes")),
                name="slatarget_resolution_after_response",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tier} {self.get_priority_display()}"

    # What a target promises, in the order the forms, lists and the API show it.
    PROMISE_FIELDS = (
        "first_response_minutes",
        "next_response_minutes",
        "workaround_minutes",
        "root_cause_minutes",
        "resolution_minutes",
        "around_the_clock",
    )

    def minutes(self) -> dict[str, int | None]:
        """The target per clock, as stored in a ticket's SLA snapshot."""
        return {
            Clock.FIRST_RESPONSE: self.first_response_minutes,
            Clock.NEXT_RESPONSE: self.next_response_minutes,
            Clock.WORKAROUND: self.workaround_minutes,
            Clock.ROOT_CAUSE: self.root_cause_minutes,
            Clock.RESOLUTION: self.resolution_minutes,
        }


class ServiceCreditBand(models.Model):
    """Monthly compliance below `below_percent` earns `credit_percent` of the monthly fee."""

    tier = models.ForeignKey(SLATier, on_delete=models.CASCADE, related_name="credit_bands")
    below_percent = models.DecimalField(max_digits=5, decimal_places=2)
    credit_percent = models.DecimalField(max_digits=5, decimal_places=2)

    class Meta:
        ordering = ["tier", "-below_percent"]
        constraints = [
            models.UniqueConstraint(fields=["tier", "below_percent"], name="creditband_unique"),
            models.CheckConstraint(
                condition=Q(below_percent__gt=0, below_percent__lte=100),
                name="creditband_below_percent",
            ),
            models.CheckConstraint(
                condition=Q(credit_percent__gte=0, credit_percent__lte=100),
                name="creditband_credit_percent",
            ),
        ]

    def __str__(self) -> str:
        return f"below {self.below_percent}% → {self.credit_percent}% credit"


class TierVersion(models.Model):
    """A tier's terms as they were from one edit to the next. Editing a tier's terms makes a
    new version (`contracts.services.tier_version_record`); a contract keeps the version it was
    drafted from, so what a customer signed never moves under them."""

    tier = models.ForeignKey(SLATier, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    terms = models.JSONField(help_text="`contracts.terms.tier_terms` at this version.")
    terms_hash = models.CharField(max_length=64, help_text="SHA-256 of the terms' canonical JSON.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tier", "-version"]
        verbose_name = "SLA tier version"
        constraints = [
            models.UniqueConstraint(fields=["tier", "version"], name="tierversion_unique"),
            models.CheckConstraint(condition=Q(version__gte=1), name="tierversion_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.tier} v{self.version}"


class ContractQuerySet(models.QuerySet):
    def active_on(self, day: date) -> "ContractQuerySet":
        return self.filter(status=Contract.Status.ACTIVE, starts_on__lte=day).filter(
            Q(ends_on__isnull=True) | Q(ends_on__gte=day)
        )

    def for_org(self, organisation: Organisation) -> "ContractQuerySet":
        return self.filter(organisation=organisation)

    def standing_on(self, day: date, standing: str) -> "ContractQuerySet":
        """The contracts whose standing on `day` is `standing` (see `Contract.standing_on`)."""
        Standing = Contract.Standing
        signed = self.filter(status__in=[Contract.Status.ACTIVE, Contract.Status.ENDED])
        # A signed contract past its last day has ended, whatever was last set by hand.
        past = Q(ends_on__lt=day)
        if standing == Standing.ACTIVE:
            return self.active_on(day)
        if standing == Standing.UPCOMING:
            return self.filter(status=Contract.Status.ACTIVE, starts_on__gt=day)
        if standing == Standing.ENDED:
            return signed.filter(Q(status=Contract.Status.ENDED) | past)
        if standing == Standing.DRAFT:
            return self.filter(status=Contract.Status.DRAFT)
        if standing == Standing.CANCELLED:
            return self.filter(status=Contract.Status.CANCELLED)
        raise ValueError(f"unknown standing {standing!r}")


class Contract(models.Model):
    """An organisation's signed agreement to a tier for a date range.

    At most one active contract covers an organisation on any day: an exclusion constraint
    enforces it on PostgreSQL (see migration `contracts.0002`), `clean()` everywhere.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft (awaiting signature)"
        ACTIVE = "active", "Active"
        ENDED = "ended", "Ended"
        CANCELLED = "cancelled", "Cancelled"

    class Standing(models.TextChoices):
        """What a contract is on a given day: its stored status read against its dates."""

        DRAFT = "draft", gettext_lazy("Draft (awaiting signature)")
        UPCOMING = "upcoming", gettext_lazy("Signed, not started yet")
        ACTIVE = "active", gettext_lazy("Active")
        ENDED = "ended", gettext_lazy("Ended")
        CANCELLED = "cancelled", gettext_lazy("Cancelled")

    reference = models.CharField(max_length=20, unique=True)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="contracts"
    )
    tier = models.ForeignKey(SLATier, on_delete=models.PROTECT, related_name="contracts")
    # The tier's terms as the draft was made from them; null for contracts made before versions.
    tier_version = models.ForeignKey(
        TierVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="contracts"
    )
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True, help_text="Inclusive; empty: open-ended.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    # The signature: who accepted which exact terms, when and from where.
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="signed_contracts",
    )
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_ip = models.GenericIPAddressField(null=True, blank=True)
    signed_user_agent = models.CharField(max_length=400, blank=True)
    signed_name = models.CharField(
        max_length=200, blank=True, help_text="The full name the signer typed."
    )
    terms = models.JSONField(default=dict, blank=True, help_text="The terms as accepted.")
    terms_hash = models.CharField(
        max_length=64, blank=True, help_text="SHA-256 of the canonical JSON of the terms."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ContractQuerySet.as_manager()

    class Meta:
        ordering = ["organisation__name", "-starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="contract_valid_dates",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "active", "ended", "cancelled"]),
                name="contract_status_valid",
            ),
            # Only a signed contract can be in force.
            models.CheckConstraint(
                condition=~Q(status="active")
                | (Q(signed_at__isnull=False, signed_by__isnull=False) & ~Q(terms_hash="")),
                name="contract_active_is_signed",
            ),
        ]
        indexes = [
            # "Active contract of this organisation on this day" (ticket creation, statements).
            models.Index(
                fields=["organisation", "starts_on"],
                condition=Q(status="active"),
                name="contract_active_by_org_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.organisation} {self.tier}"

    def standing_on(self, day: date) -> "Contract.Standing":
        """The contract's standing on `day` (a date in the zone of whoever asks).

        `status` is what was last set (signed, ended, cancelled); a signed contract whose dates
        do not cover `day` is not in force on it, though nobody ended it by hand.
        """
        if self.status == self.Status.DRAFT:
            return self.Standing.DRAFT
        if self.status == self.Status.CANCELLED:
            return self.Standing.CANCELLED
        if self.status == self.Status.ENDED or (self.ends_on is not None and self.ends_on < day):
            return self.Standing.ENDED
        if day < self.starts_on:
            return self.Standing.UPCOMING
        return self.Standing.ACTIVE

    def clean(self) -> None:
        if self.ends_on and self.starts_on and self.ends_on < self.starts_on:
            raise ValidationError({"ends_on": "The contract cannot end before it starts."})
        if self.status == self.Status.ACTIVE and self.organisation_id and self.starts_on:
            overlapping = (
                Contract.objects.filter(
                    organisation_id=self.organisation_id, status=self.Status.ACTIVE
                )
                .exclude(pk=self.pk)
                .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=self.starts_on))
            )
            if self.ends_on:
                overlapping = overlapping.filter(starts_on__lte=self.ends_on)
            clash = overlapping.first()
            if clash:
                raise ValidationError(
                    f"{clash.reference} is already active for {self.organisation} from "
                    f"{clash.starts_on:%Y-%m-%d}"
                    f"{f' to {clash.ends_on:%Y-%m-%d}' if clash.ends_on else ''}: "
                    "at most one active contract per organisation per day."
                )


class ContractEvent(models.Model):
    """The append-only history of a contract: drafted, changed, signed, ended, cancelled; who
    did it and when, written in the same transaction as the change."""

    class Kind(models.TextChoices):
        DRAFTED = "drafted", gettext_lazy("Drafted")
        CHANGED = "changed", gettext_lazy("Draft changed")
        SIGNED = "signed", gettext_lazy("Signed")
        ENDED = "ended", gettext_lazy("End date set")
        CANCELLED = "cancelled", gettext_lazy("Cancelled")

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="contract_events",
    )
    at = models.DateTimeField()
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["contract", "at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["drafted", "changed", "signed", "ended", "cancelled"]),
                name="contractevent_kind_valid",
            ),
        ]
        indexes = [
            # A contract's history in the admin, in order.
            models.Index(fields=["contract", "at"], name="contractevent_contract_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.contract_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"


class ComplianceStatementQuerySet(models.QuerySet):
    def issued(self) -> "ComplianceStatementQuerySet":
        return self.filter(status=ComplianceStatement.Status.ISSUED)

    def current(self) -> "ComplianceStatementQuerySet":
        """Per organisation and month, the latest issued revision: what the customer is owed.
        Earlier issued revisions stay on record, superseded by a correction."""
        later = ComplianceStatement.objects.filter(
            organisation_id=models.OuterRef("organisation_id"),
            month=models.OuterRef("month"),
            status=ComplianceStatement.Status.ISSUED,
            revision__gt=models.OuterRef("revision"),
        )
        return self.issued().exclude(models.Exists(later))


class ComplianceStatement(models.Model):
    """A customer's SLA compliance for one month and the service credit it earns.

    A draft is regenerated freely; issuing freezes it: the figures are sealed with a SHA-256 of
    their canonical JSON and the database refuses any later update or delete of the row (see
    migration `contracts.0007`). A correction is a new revision with its reason; the earlier
    one stays as it was issued. `lines`, `breaches` and `coverage` are documented in
    `docs/statements.md`.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", gettext_lazy("Draft")
        ISSUED = "issued", gettext_lazy("Issued")

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="statements"
    )
    month = models.DateField(help_text="First day of the month the statement covers.")
    revision = models.PositiveSmallIntegerField(default=1)
    reason = models.TextField(
        blank=True, help_text="Why a revision after the first corrects the one before."
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT)
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        help_text="The organisation's home zone, in which the month was counted.",
    )
    lines = models.JSONField(default=list, blank=True, help_text="Per priority and clock.")
    breaches = models.JSONField(default=list, blank=True, help_text="The promises broken.")
    coverage = models.JSONField(
        default=list, blank=True, help_text="The contracts in force, their days and credits."
    )
    in_scope = models.PositiveIntegerField(default=0)
    met = models.PositiveIntegerField(default=0)
    breached = models.PositiveIntegerField(default=0)
    objective = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    compliance_percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    credit_amount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3, default="EUR")
    content_hash = models.CharField(max_length=64, blank=True)
    generated_at = models.DateTimeField()
    issued_at = models.DateTimeField(null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="issued_statements",
    )

    objects = ComplianceStatementQuerySet.as_manager()

    class Meta:
        ordering = ["-month", "organisation__name", "-revision"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "month", "revision"], name="statement_revision_unique"
            ),
            # One draft at a time per organisation and month: generating again replaces it.
            models.UniqueConstraint(
                fields=["organisation", "month"],
                condition=Q(status="draft"),
                name="statement_one_draft",
            ),
            models.CheckConstraint(condition=Q(month__day=1), name="statement_month_first_day"),
            models.CheckConstraint(
                condition=Q(revision__gte=1), name="statement_revision_positive"
            ),
            models.CheckConstraint(
                condition=Q(revision=1) | ~Q(reason=""), name="statement_revision_has_reason"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "issued"]), name="statement_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status="issued") | (Q(issued_at__isnull=False) & ~Q(content_hash="")),
                name="statement_issued_is_sealed",
            ),
        ]
        indexes = [
            # The API's and the portal's list: an organisation's statements by month.
            models.Index(fields=["organisation", "month"], name="statement_org_month_idx"),
            # The monthly run and the admin's month filter.
            models.Index(fields=["month", "status"], name="statement_month_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.organisation} {self.month:%Y-%m} r{self.revision}"


class EscalationPolicy(models.Model):
    """Who hears about a warning or a breach, per tier and priority.

    Without a row for a tier, priority and trigger, `contracts.escalation.policy_for` applies the
    defaults: a warning goes to the assignee and their team lead; a breach to the team lead and
    the region's L2 team, moves P1 and P2 tickets to L2, and for P1 also tells the account
    manager and repeats every 15 minutes until acknowledged.
    """

    class Trigger(models.TextChoices):
        WARNING = "warning", "Warning"
        BREACH = "breach", "Breach"

    tier = models.ForeignKey(SLATier, on_delete=models.CASCADE, related_name="escalation_policies")
    priority = models.CharField(max_length=2, choices=Priority.choices)
    trigger = models.CharField(max_length=8, choices=Trigger.choices)
    notify_assignee = models.BooleanField(default=False)
    notify_team_lead = models.BooleanField(default=False)
    notify_l2_team = models.BooleanField(default=False)
    notify_account_manager = models.BooleanField(default=False)
    move_to_l2 = models.BooleanField(default=False, help_text="Give the ticket to the L2 team.")
    repeat_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="Notify again this often until acknowledged."
    )

    class Meta:
        ordering = ["tier", "priority", "trigger"]
        verbose_name_plural = "escalation policies"
        constraints = [
            models.UniqueConstraint(
                fields=["tier", "priority", "trigger"], name="escalationpolicy_unique"
            ),
            models.CheckConstraint(
                condition=Q(repeat_minutes__isnull=True) | Q(repeat_minutes__gt=0),
                name="escalationpolicy_repeat_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tier} {self.priority.upper()} {self.trigger}"
