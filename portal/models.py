"""Regions, teams, customer organisations and the people who work with Meridian."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.timezone import localtime

from portal.timezones import time_zone_choices, validate_time_zone


class Region(models.Model):
    """A follow-the-sun support region (Singapore, Dubai, São Paulo, Berlin, New York)."""

    code = models.SlugField(max_length=8, unique=True, help_text="Short code, e.g. sg, ber.")
    name = models.CharField(max_length=80, unique=True)
    time_zone = models.CharField(
        max_length=64, choices=time_zone_choices, validators=[validate_time_zone]
    )
    follow_sun_position = models.PositiveSmallIntegerField(
        default=0,
        help_text="Place in the follow-the-sun order: when a region's shift is closed, work for "
        "round-the-clock customers goes to the next region on shift in this order.",
    )

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Team(models.Model):
    """A group of agents in a region; L1 takes new work, L2 takes escalations, a duty team takes
    new round-the-clock work while no L1 shift anywhere is open (nights, weekends, holidays), and
    specialists' teams (any number per region) take what routing rules send them.

    A team is on shift while its own shift calendar is open (`contracts.BusinessCalendar.team`),
    else while its region's business-hours calendar is."""

    class Level(models.TextChoices):
        L1 = "l1", "L1 (first line)"
        L2 = "l2", "L2 (specialists)"
        DUTY = "duty", "Duty (nights and weekends)"
        SPECIALISTS = "spec", "Specialists (by routing rule)"

    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="teams")
    level = models.CharField(max_length=4, choices=Level.choices)
    name = models.CharField(max_length=80, unique=True)
    email = models.EmailField(blank=True, help_text="Team mailbox for notifications.")
    auto_assign = models.BooleanField(
        default=False,
        help_text="Give each ticket routed here to the on-shift agent with the lightest load.",
    )

    class Meta:
        ordering = ["region__code", "level"]
        constraints = [
            # Escalation moves a ticket to "the L2 team of the region": there is exactly one.
            models.UniqueConstraint(
                fields=["region", "level"],
                condition=Q(level__in=["l1", "l2", "duty"]),
                name="team_one_per_region_level",
            ),
            models.CheckConstraint(
                condition=Q(level__in=["l1", "l2", "duty", "spec"]), name="team_level_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Organisation(models.Model):
    """A customer company."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    home_region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="organisations")
    account_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="managed_organisations",
        limit_choices_to={"is_staff": True},
    )
    requesters_see_all_tickets = models.BooleanField(
        default=False,
        help_text="Let every member see all of the organisation's tickets, not only their own.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class EmailDomain(models.Model):
    """A mail domain that identifies an organisation's senders on the email channel."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="email_domains"
    )
    domain = models.CharField(max_length=253, unique=True)

    class Meta:
        ordering = ["domain"]
        constraints = [
            # Incoming mail is matched on the lower-cased domain; storing it lower-cased keeps
            # the unique index meaningful.
            models.CheckConstraint(condition=Q(domain=Lower("domain")), name="emaildomain_lower"),
        ]

    def __str__(self) -> str:
        return self.domain


class Member(models.Model):
    """A customer's person: a requester sees their own tickets, an admin the organisation's."""

    class Role(models.TextChoices):
        REQUESTER = "requester", "Requester"
        ADMIN = "admin", "Organisation admin"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="member"
    )
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="members")
    role = models.CharField(max_length=12, choices=Role.choices, default=Role.REQUESTER)
    time_zone = models.CharField(
        max_length=64, choices=time_zone_choices, validators=[validate_time_zone], default="UTC"
    )
    phone = models.CharField(max_length=32, blank=True)
    # Which emails about their tickets the member receives (see `tickets.services.customer_mail`).
    email_on_created = models.BooleanField(
        default=True, help_text="An acknowledgement with the reference when a ticket is opened."
    )
    email_on_reply = models.BooleanField(default=True, help_text="A copy of every agent reply.")
    email_on_waiting = models.BooleanField(
        default=True, help_text="When support waits for the customer's answer."
    )
    email_on_resolved = models.BooleanField(default=True, help_text="When a ticket is resolved.")
    # Set by a delivery status notification; no mail goes to the address until it is cleared.
    email_bouncing_since = models.DateTimeField(null=True, blank=True)
    email_bounce_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organisation__name", "user__email"]
        constraints = [
            models.CheckConstraint(
                condition=Q(role__in=["requester", "admin"]), name="member_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user.get_full_name() or self.user.get_username()} ({self.organisation})"

    def clean(self) -> None:
        if self.user_id and Agent.objects.filter(user_id=self.user_id).exists():
            raise ValidationError({"user": "This user is a support agent, not a customer."})


class Agent(models.Model):
    """Meridian staff: agents and team leads work tickets; account managers own customers."""

    class Role(models.TextChoices):
        AGENT = "agent", "Agent"
        LEAD = "lead", "Team lead"
        ACCOUNT_MANAGER = "account_manager", "Account manager"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent"
    )
    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, null=True, blank=True, related_name="agents"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.AGENT)
    time_zone = models.CharField(
        max_length=64, choices=time_zone_choices, validators=[validate_time_zone], default="UTC"
    )
    away = models.BooleanField(
        default=False, help_text="Away (leave, sick, busy elsewhere): nothing is assigned to you."
    )
    max_open_tickets = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Automatic assignment stops at this many open tickets (empty: no cap).",
    )
    last_assigned_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When a ticket was last given to you."
    )

    class Meta:
        ordering = ["team__name", "user__username"]
        constraints = [
            models.CheckConstraint(
                condition=Q(role__in=["agent", "lead", "account_manager"]),
                name="agent_role_valid",
            ),
            # Agents and leads work in a team; account managers stand outside the teams.
            models.CheckConstraint(
                condition=Q(role="account_manager") | Q(team__isnull=False),
                name="agent_team_required",
            ),
        ]

    def __str__(self) -> str:
        return self.user.get_full_name() or self.user.get_username()

    def clean(self) -> None:
        if self.user_id and Member.objects.filter(user_id=self.user_id).exists():
            raise ValidationError({"user": "This user is a customer member, not an agent."})


class Heartbeat(models.Model):
    """The last time a background process proved it was alive (beat scheduled, worker ran)."""

    name = models.CharField(max_length=40, unique=True)
    seen_at = models.DateTimeField()
    beats = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} at {localtime(self.seen_at):%Y-%m-%d %H:%M:%S}"


class TaskAttempt(models.Model):
    """How many times a Celery message (by task id) has started; the guard in `taskguard` counts.

    Written and committed before the task body runs, so it survives a worker that dies in the
    body. Rows live while a message is in flight or parked; success or a requeue deletes them.
    """

    task_id = models.CharField(max_length=255, primary_key=True)
    task_name = models.CharField(max_length=255)
    attempts = models.PositiveSmallIntegerField()
    first_started_at = models.DateTimeField()
    last_started_at = models.DateTimeField()

    class Meta:
        # A small table (in-flight and parked messages only): the admin sorts it without an index.
        ordering = ["-last_started_at"]
        constraints = [
            models.CheckConstraint(condition=Q(attempts__gte=1), name="taskattempt_attempts_min"),
        ]

    def __str__(self) -> str:
        return f"{self.task_name}[{self.task_id}] x{self.attempts}"


class DeadLetter(models.Model):
    """A task message taken out of circulation: its worker kept dying, or it failed for good."""

    task_id = models.CharField(max_length=255, unique=True)
    task_name = models.CharField(max_length=255)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    # The queue the message came from, so that a requeue goes back to the same workers.
    queue = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveSmallIntegerField()
    reason = models.TextField()
    parked_at = models.DateTimeField()
    requeued_at = models.DateTimeField(null=True, blank=True)
    requeued_task_id = models.CharField(
        max_length=255, blank=True, help_text="The id of the new message sent by the requeue."
    )

    class Meta:
        ordering = ["-parked_at"]
        indexes = [
            # The admin list: newest parked first.
            models.Index(fields=["-parked_at"], name="deadletter_parked_at"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(attempts__gte=1), name="deadletter_attempts_min"),
            # A requeue records both when and as which message, or neither.
            models.CheckConstraint(
                condition=Q(requeued_at__isnull=True, requeued_task_id="")
                | (Q(requeued_at__isnull=False) & ~Q(requeued_task_id="")),
                name="deadletter_requeue_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task_name}[{self.task_id}]"


class IdempotencyKey(models.Model):
    """A client's `Idempotency-Key` for one API write, and the response its first request got.

    The row is written and committed before the write runs; the unique constraint on (user, key)
    is what stops two concurrent copies of one request from both creating. While the first runs
    the row has no status; once it succeeds the status and body are kept, and a retry gets them
    back instead of a second ticket or message. Keys are per user, and a key older than
    `portal.services.IDEMPOTENCY_KEY_TTL` (24 hours) may be used again for a new request.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="idempotency_keys"
    )
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=255)
    fingerprint = models.CharField(
        max_length=64, help_text="SHA-256 of the request's fields and files."
    )
    status = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The response's HTTP status; empty while in progress."
    )
    response = models.JSONField(null=True, blank=True, help_text="The response body, as sent.")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "idempotency key"
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotencykey_unique_per_user"),
            models.CheckConstraint(
                condition=Q(status__isnull=True) | Q(status__gte=100, status__lte=599),
                name="idempotencykey_status_http",
            ),
        ]
        indexes = [
            # Purging expired keys, and the admin list (newest first).
            models.Index(fields=["created_at"], name="idempotencykey_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.method} {self.path})"

    @property
    def in_progress(self) -> bool:
        return self.status is None
