"""Tickets, their conversation, and the append-only history of everything the SLA depends on."""

import uuid
from datetime import datetime, timedelta
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from contracts.models import BusinessCalendar, Contract, SLATier
from contracts.sla_names import CLOCKS, Clock, Priority
from portal.models import Member, Organisation, Region, Team
from tickets.canned import canned_check
from tickets.clocks import NO_DEADLINE

OPEN_STATUSES = ("new", "open", "pending")


def _local(instant: datetime, *, seconds: bool = False) -> str:
    # Rows name themselves in the support desk (titles, breadcrumbs, links): in the viewer's
    # time zone, which the middleware activates, and saying which zone it is.
    local = timezone.localtime(instant)
    return f"{local:%Y-%m-%d %H:%M:%S %Z}" if seconds else f"{local:%Y-%m-%d %H:%M %Z}"


class TicketQuerySet(models.QuerySet):
    def open(self) -> "TicketQuerySet":
        return self.filter(status__in=OPEN_STATUSES)

    def for_org(self, organisation: Organisation) -> "TicketQuerySet":
        return self.filter(organisation=organisation)

    def breached(self) -> "TicketQuerySet":
        q = Q()
        for clock in CLOCKS:
            q |= Q(**{f"{clock}_breached_at__isnull": False})
        return self.filter(q)


# The statuses `OPEN_STATUSES` names, as the condition of the queue's partial indexes.
OPEN = Q(status__in=OPEN_STATUSES)


def _clock_alert_index(clock: str) -> models.Index:
    # The deadline sweep's work queue: a clock has an alert instant only while it is counting
    # down (its next warning threshold, or its due instant), so the index holds exactly the
    # running clocks, ordered by when they next need attention.
    return models.Index(
        fields=[f"{clock}_alert_at"],
        condition=Q(**{f"{clock}_alert_at__isnull": False}),
        name=f"ticket_{clock[:5]}_alert_idx",
    )


class Ticket(models.Model):
    """A customer's request, with the SLA snapshot taken when it was created and its clocks.

    Each clock (first response, next response, workaround, root cause, resolution) has a due
    instant, the instant it was met, the instant it breached, the instant it was paused (while
    paused), the time it has spent paused so far, the highest warning threshold recorded, while it
    counts down the instant it next needs the sweep's attention (`_alert_at`), and once met or
    breached the time it took (`_taken`, pauses excluded). Past cycles of the next-response clock
    are `ResponseCycle` rows.
    """

    class Channel(models.TextChoices):
        WEB = "web", "Web portal"
        EMAIL = "email", "Email"
        PHONE = "phone", "Phone"
        API = "api", "API"
        ALERT = "alert", "Monitoring alert"

    class Status(models.TextChoices):
        NEW = "new", "New"
        OPEN = "open", "Open"
        PENDING = "pending", "Waiting on customer"
        RESOLVED = "resolved", "Resolved"
        CLOSED = "closed", "Closed"

    class ProductArea(models.TextChoices):
        STREAMING = "streaming", "Live streaming"
        VOICE = "voice", "Voice SDK"
        VIDEO = "video", "Video SDK"
        MESSAGING = "messaging", "Real-time messaging"
        CONSOLE = "console", "Console and dashboards"
        BILLING = "billing", "Billing and account"
        OTHER = "other", "Other"

    Priority = Priority

    # Foreign keys led by a composite index below need no index of their own (db_index=False):
    # every ticket row written or moved would otherwise update it too.
    reference = models.CharField(max_length=16, editable=False)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="tickets", db_index=False
    )
    requester = models.ForeignKey(
        Member,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets",
        db_index=False,
    )
    channel = models.CharField(max_length=8, choices=Channel.choices)
    subject = models.CharField(max_length=200)
    product_area = models.CharField(
        max_length=12, choices=ProductArea.choices, default=ProductArea.OTHER
    )
    priority = models.CharField(max_length=2, choices=Priority.choices, default=Priority.P3)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="tickets")
    team = models.ForeignKey(
        Team,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets",
        db_index=False,
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_tickets",
        db_index=False,
    )
    follow_up_of = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="follow_ups",
        help_text="The resolved ticket this one continues, when it came too late to reopen it.",
    )
    created_at = models.DateTimeField(help_text="When the customer asked; every clock starts here.")
    updated_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    # SLA snapshot, taken at creation so that later contract changes never rewrite history.
    sla_contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, null=True, blank=True, related_name="tickets"
    )
    sla_tier = models.ForeignKey(
        SLATier, on_delete=models.PROTECT, null=True, blank=True, related_name="tickets"
    )
    sla_calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.PROTECT, null=True, blank=True, related_name="tickets"
    )
    sla_calendar_version = models.PositiveIntegerField(null=True, blank=True)
    sla_targets = models.JSONField(
        default=dict, blank=True, help_text="The tier's minutes per priority and clock."
    )
    sla_pause_statuses = models.JSONField(default=list, blank=True)
    sla_paused_clocks = models.JSONField(default=list, blank=True)
    sla_warning_thresholds = models.JSONField(
        default=list, blank=True, help_text="Percentages of a target at which to warn."
    )
    sla_around_the_clock = models.JSONField(
        default=dict,
        blank=True,
        help_text="Per priority, the clocks whose target counts around the clock.",
    )

    first_response_due_at = models.DateTimeField(null=True, blank=True)
    first_response_met_at = models.DateTimeField(null=True, blank=True)
    first_response_breached_at = models.DateTimeField(null=True, blank=True)
    first_response_paused_at = models.DateTimeField(null=True, blank=True)
    first_response_paused_for = models.DurationField(default=timedelta(0))
    first_response_warned = models.PositiveSmallIntegerField(default=0)
    first_response_alert_at = models.DateTimeField(null=True, blank=True, editable=False)
    first_response_taken = models.DurationField(
        null=True, blank=True, editable=False, help_text="Time counted to the met or breach."
    )

    next_response_started_at = models.DateTimeField(
        null=True, blank=True, help_text="The customer message waiting for an answer."
    )
    next_response_due_at = models.DateTimeField(null=True, blank=True)
    next_response_met_at = models.DateTimeField(null=True, blank=True)
    next_response_breached_at = models.DateTimeField(null=True, blank=True)
    next_response_paused_at = models.DateTimeField(null=True, blank=True)
    next_response_paused_for = models.DurationField(default=timedelta(0))
    next_response_warned = models.PositiveSmallIntegerField(default=0)
    next_response_alert_at = models.DateTimeField(null=True, blank=True, editable=False)
    next_response_taken = models.DurationField(
        null=True, blank=True, editable=False, help_text="Time counted to the met or breach."
    )

    workaround_due_at = models.DateTimeField(null=True, blank=True)
    workaround_met_at = models.DateTimeField(null=True, blank=True)
    workaround_breached_at = models.DateTimeField(null=True, blank=True)
    workaround_paused_at = models.DateTimeField(null=True, blank=True)
    workaround_paused_for = models.DurationField(default=timedelta(0))
    workaround_warned = models.PositiveSmallIntegerField(default=0)
    workaround_alert_at = models.DateTimeField(null=True, blank=True, editable=False)
    workaround_taken = models.DurationField(
        null=True, blank=True, editable=False, help_text="Time counted to the met or breach."
    )

    root_cause_due_at = models.DateTimeField(null=True, blank=True)
    root_cause_met_at = models.DateTimeField(null=True, blank=True)
    root_cause_breached_at = models.DateTimeField(null=True, blank=True)
    root_cause_paused_at = models.DateTimeField(null=True, blank=True)
    root_cause_paused_for = models.DurationField(default=timedelta(0))
    root_cause_warned = models.PositiveSmallIntegerField(default=0)
    root_cause_alert_at = models.DateTimeField(null=True, blank=True, editable=False)
    root_cause_taken = models.DurationField(
        null=True, blank=True, editable=False, help_text="Time counted to the met or breach."
    )
    root_cause_summary = models.TextField(
        blank=True, default="", help_text="The root cause as the customer reads it."
    )
    root_cause_detail = models.TextField(
        blank=True, default="", help_text="Internal detail of the root cause: agents only."
    )

    resolution_due_at = models.DateTimeField(null=True, blank=True)
    resolution_met_at = models.DateTimeField(null=True, blank=True)
    resolution_breached_at = models.DateTimeField(null=True, blank=True)
    resolution_paused_at = models.DateTimeField(null=True, blank=True)
    resolution_paused_for = models.DurationField(default=timedelta(0))
    resolution_warned = models.PositiveSmallIntegerField(default=0)
    resolution_alert_at = models.DateTimeField(null=True, blank=True, editable=False)
    resolution_taken = models.DurationField(
        null=True, blank=True, editable=False, help_text="Time counted to the met or breach."
    )

    # Stored with the clocks (`clocks_store`), so the desk's queue is an index range.
    next_due_at = models.DateTimeField(
        default=NO_DEADLINE,
        editable=False,
        help_text="The most urgent promise's due instant; far in the future when nothing is owed.",
    )
    last_customer_message_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When the customer last wrote."
    )

    objects = TicketQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # A constraint rather than unique=True: the same unique index, without the extra
            # pattern-matching index Django adds for unique text columns on PostgreSQL.
            models.UniqueConstraint(fields=["reference"], name="ticket_reference_unique"),
            models.CheckConstraint(
                condition=Q(priority__in=["p1", "p2", "p3", "p4"]), name="ticket_priority_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["new", "open", "pending", "resolved", "closed"]),
                name="ticket_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(channel__in=["web", "email", "phone", "api", "alert"]),
                name="ticket_channel_valid",
            ),
            # A resolved or closed ticket knows when it was resolved.
            models.CheckConstraint(
                condition=~Q(status__in=["resolved", "closed"]) | Q(resolved_at__isnull=False),
                name="ticket_resolved_has_instant",
            ),
            models.CheckConstraint(
                condition=~Q(status="closed") | Q(closed_at__isnull=False),
                name="ticket_closed_has_instant",
            ),
            # A snapshot is all or nothing: a contract always comes with its tier and calendar.
            models.CheckConstraint(
                condition=Q(sla_contract__isnull=True)
                | Q(sla_tier__isnull=False, sla_calendar__isnull=False),
                name="ticket_sla_snapshot_complete",
            ),
        ]
        indexes = [
            *(_clock_alert_index(clock) for clock in CLOCKS),
            # Agent queues: a team's tickets in a status, oldest activity first.
            models.Index(fields=["team", "status", "updated_at"], name="ticket_team_status_idx"),
            models.Index(
                fields=["assignee", "status", "updated_at"], name="ticket_assignee_status_idx"
            ),
            # Customer portal lists and the API's "updated since" filter, per organisation.
            models.Index(
                fields=["organisation", "status", "updated_at"], name="ticket_org_status_idx"
            ),
            models.Index(fields=["organisation", "updated_at"], name="ticket_org_updated_idx"),
            models.Index(fields=["requester", "status"], name="ticket_requester_status_idx"),
            # Statements: an organisation's tickets created in a month.
            models.Index(fields=["organisation", "created_at"], name="ticket_org_created_idx"),
            # The desk's queue (`tickets.queue`), most urgent first, a page at a time: open
            # tickets only (a small, hot part of the table), one per way the views narrow them.
            models.Index(fields=["next_due_at", "id"], condition=OPEN, name="ticket_open_due_idx"),
            models.Index(
                fields=["team", "next_due_at", "id"], condition=OPEN, name="ticket_open_team_idx"
            ),
            # "Mine", in every status: a closed ticket owes nothing (`next_due_at` is far in the
            # future), so the open ones come first in any case.
            models.Index(fields=["assignee", "next_due_at", "id"], name="ticket_assignee_due_idx"),
            # "Unassigned": an index ordered by `assignee` cannot give `IS NULL` rows in
            # deadline order (only `=` fixes a leading column for the sort), this one does.
            models.Index(
                fields=["next_due_at", "id"],
                condition=Q(assignee__isnull=True),
                name="ticket_unassigned_due_idx",
            ),
            # An L1 team's view also shows its region's untaken tickets.
            models.Index(
                fields=["region", "next_due_at", "id"],
                condition=OPEN & Q(team__isnull=True),
                name="ticket_open_untaken_idx",
            ),
            # The API's default order (least recently updated first, cursor on (updated_at, id)).
            models.Index(fields=["updated_at", "id"], name="ticket_updated_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.subject}"

    def clean(self) -> None:
        foreign = self.requester_id and self.requester.organisation_id != self.organisation_id
        if foreign:
            raise ValidationError({"requester": "The requester belongs to another organisation."})

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def has_sla(self) -> bool:
        return self.sla_contract_id is not None


class ReferenceCounter(models.Model):
    """Hands out ticket numbers: `MRD-000123`. One row per series, incremented under its lock."""

    name = models.CharField(max_length=20, primary_key=True)
    value = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}: {self.value}"


class NonEmpty(models.Lookup):
    """`field__nonempty=True`: `field <> ''` with the empty string written into the SQL. A
    prepared statement's generic plan can then prove a partial index's `<> ''` predicate; with
    the empty string as a parameter it cannot (it could be anything) and scans the table."""

    lookup_name = "nonempty"
    prepare_rhs = False

    def as_sql(self, compiler, connection):  # type: ignore[no-untyped-def]
        lhs, params = self.process_lhs(compiler, connection)
        return f"{lhs} <> ''", params


class Message(models.Model):
    """A public reply or an internal note on a ticket."""

    class Visibility(models.TextChoices):
        PUBLIC = "public", "Public reply"
        INTERNAL = "internal", "Internal note"

    class AuthorKind(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        AGENT = "agent", "Agent"
        SYSTEM = "system", "System"

    class Channel(models.TextChoices):
        """The ways a message arrives: a ticket's channels, and the support desk, where agents
        answer (a ticket is never opened "from the desk": a call logged there is a phone
        ticket)."""

        WEB = "web", "Web portal"
        EMAIL = "email", "Email"
        PHONE = "phone", "Phone"
        API = "api", "API"
        ALERT = "alert", "Monitoring alert"
        DESK = "desk", "Support desk"

    # Indexed by message_ticket_created_idx.
    ticket = models.ForeignKey(
        Ticket, on_delete=models.PROTECT, related_name="messages", db_index=False
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ticket_messages",
    )
    author_kind = models.CharField(max_length=8, choices=AuthorKind.choices)
    visibility = models.CharField(
        max_length=8, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    channel = models.CharField(max_length=8, choices=Channel.choices)
    body_text = models.TextField()
    body_html = models.TextField(blank=True, help_text="Sanitised HTML, when the sender sent HTML.")
    email_message_id = models.CharField(max_length=255, blank=True)
    email_in_reply_to = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # Email threading and de-duplication of redelivered mail.
            models.UniqueConstraint(
                fields=["email_message_id"],
                condition=~Q(email_message_id=""),
                name="message_unique_email_id",
            ),
            # Customers never write internal notes; Meridian itself does (an out-of-office
            # reply, a stranger's mail that names the ticket).
            models.CheckConstraint(
                condition=~Q(visibility="internal") | Q(author_kind__in=["agent", "system"]),
                name="message_internal_by_agent_or_system",
            ),
            models.CheckConstraint(
                condition=Q(author_kind__in=["customer", "agent", "system"]),
                name="message_author_kind_valid",
            ),
        ]
        indexes = [
            # A ticket's conversation in order.
            models.Index(fields=["ticket", "created_at"], name="message_ticket_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_visibility_display()} at {_local(self.created_at)}"


# Threading looks Message-IDs up in the partial unique index `message_unique_email_id`.
Message._meta.get_field("email_message_id").register_lookup(NonEmpty)


def attachment_upload_to(instance: "Attachment", filename: str) -> str:
    # Random stored names: the original name is kept in the row, never trusted as a path.
    suffix = PurePath(filename).suffix.lower()[:16]
    return f"attachments/{instance.ticket.organisation_id}/{uuid.uuid4().hex}{suffix}"


class Attachment(models.Model):
    """A file sent with a message."""

    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="attachments")
    message = models.ForeignKey(
        Message, on_delete=models.PROTECT, null=True, blank=True, related_name="attachments"
    )
    file = models.FileField(upload_to=attachment_upload_to, max_length=255)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=127)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.filename


class PhoneCall(models.Model):
    """A call an agent logged; its summary becomes a message on the ticket."""

    class Direction(models.TextChoices):
        INBOUND = "inbound", "Inbound"
        OUTBOUND = "outbound", "Outbound"

    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="calls")
    message = models.OneToOneField(
        Message, on_delete=models.PROTECT, null=True, blank=True, related_name="call"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="logged_calls"
    )
    caller_name = models.CharField(max_length=120)
    phone_number = models.CharField(max_length=32)
    direction = models.CharField(max_length=8, choices=Direction.choices)
    started_at = models.DateTimeField()
    duration = models.DurationField()
    summary = models.TextField()
    late_reason = models.TextField(
        blank=True,
        default="",
        help_text="Why the call was logged more than a day after it started.",
    )
    created_at = models.DateTimeField(help_text="When the call was logged.")

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(direction__in=["inbound", "outbound"]), name="phonecall_direction_valid"
            ),
            models.CheckConstraint(
                condition=Q(duration__gte=timedelta(0)), name="phonecall_duration_not_negative"
            ),
        ]

    def __str__(self) -> str:
        when = _local(self.started_at)
        return f"{self.get_direction_display()} call {self.phone_number} at {when}"


class TicketEvent(models.Model):
    """Append-only history of every SLA-relevant change, written with the change itself.

    The database refuses updates to these rows (a trigger, see migration `tickets.0002`).
    """

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        DETAILS = "details", "Details changed"
        MESSAGE = "message", "Customer message"
        RESPONDED = "responded", "Agent responded"
        NOTE = "note", "Internal note"
        CALL = "call", "Call logged"
        STATUS = "status", "Status changed"
        PRIORITY = "priority", "Priority changed"
        ASSIGNED = "assigned", "Assignment changed"
        ROUTED = "routed", "Routed"
        PAUSED = "paused", "Clock paused"
        RESUMED = "resumed", "Clock resumed"
        WORKAROUND = "workaround", "Workaround given"
        ROOT_CAUSE = "root_cause", "Root cause recorded"
        RESOLVED = "resolved", "Resolved"
        REOPENED = "reopened", "Reopened"
        CLOSED = "closed", "Closed"
        WARNING = "warning", "SLA warning"
        BREACH = "breach", "SLA breached"
        ESCALATED = "escalated", "Escalated"
        CORRECTED = "corrected", "Clocks corrected by replay"
        ACKNOWLEDGED = "acknowledged", "Escalation acknowledged"
        MERGED = "merged", "Merged"

    # Indexed by event_ticket_at_idx.
    ticket = models.ForeignKey(
        Ticket, on_delete=models.PROTECT, related_name="events", db_index=False
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    clock = models.CharField(max_length=16, choices=Clock.choices, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ticket_events",
    )
    at = models.DateTimeField(help_text="When it happened.")
    data = models.JSONField(
        default=dict, blank=True, help_text="What changed: old and new values, due instants."
    )

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            # A ticket's history in order (admin, replay).
            models.Index(fields=["ticket", "at", "id"], name="event_ticket_at_idx"),
            models.Index(fields=["kind", "at"], name="event_kind_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {_local(self.at, seconds=True)}"


class ResponseCycle(models.Model):
    """A past cycle of the next-response clock: a customer wrote, an agent answered.

    Written when the answer meets the cycle (the ticket's `next_response_*` fields hold the
    current one); what statements and reports count per cycle.
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="response_cycles")
    started_at = models.DateTimeField(help_text="When the customer's message started it.")
    due_at = models.DateTimeField(null=True, blank=True)
    met_at = models.DateTimeField(help_text="When an agent answered.")
    breached_at = models.DateTimeField(null=True, blank=True)
    paused_for = models.DurationField(default=timedelta(0))
    taken = models.DurationField(
        null=True, blank=True, help_text="Time counted to the answer, pauses excluded."
    )

    class Meta:
        ordering = ["ticket", "started_at"]
        indexes = [
            models.Index(fields=["ticket", "started_at"], name="responsecycle_ticket_idx"),
            # Statements: the cycles answered in a month.
            models.Index(fields=["met_at"], name="responsecycle_met_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} next response from {_local(self.started_at, seconds=True)}"


class SLAAlert(models.Model):
    """A clock crossing a warning threshold, or breaching: recorded exactly once.

    `cycle_started_at` tells apart the cycles of the next-response clock, which restarts with
    every unanswered customer message.
    """

    class Kind(models.TextChoices):
        WARNING = "warning", "Warning"
        BREACH = "breach", "Breach"

    BREACH_THRESHOLD = 100

    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="alerts")
    clock = models.CharField(max_length=16, choices=Clock.choices)
    cycle_started_at = models.DateTimeField()
    threshold = models.PositiveSmallIntegerField(help_text="Percent of the target; 100: breach.")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    due_at = models.DateTimeField()
    at = models.DateTimeField(help_text="When it was recorded.")

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "SLA alert"
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "clock", "cycle_started_at", "threshold"],
                name="slaalert_exactly_once",
            ),
            models.CheckConstraint(
                condition=(Q(kind="breach") & Q(threshold=100))
                | (Q(kind="warning") & Q(threshold__gt=0, threshold__lt=100)),
                name="slaalert_kind_matches_threshold",
            ),
        ]
        indexes = [models.Index(fields=["kind", "at"], name="slaalert_kind_at_idx")]

    def __str__(self) -> str:
        what = "breach" if self.kind == self.Kind.BREACH else f"{self.threshold}% warning"
        return f"{self.get_clock_display()} {what}"


class Escalation(models.Model):
    """Someone made responsible for reacting to an alert; they can acknowledge it.

    An escalation with a repeat interval is notified again until acknowledged or until the
    clock is met.
    """

    class Role(models.TextChoices):
        ASSIGNEE = "assignee", "Assignee"
        TEAM_LEAD = "team_lead", "Team lead"
        L2_TEAM = "l2_team", "L2 team"
        ACCOUNT_MANAGER = "account_manager", "Account manager"

    alert = models.ForeignKey(SLAAlert, on_delete=models.PROTECT, related_name="escalations")
    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="escalations")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="escalations"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    repeat_every = models.DurationField(null=True, blank=True)
    next_repeat_at = models.DateTimeField(null=True, blank=True)
    repeats = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["alert", "recipient"], name="escalation_once"),
        ]
        indexes = [
            # The sweep's repeat queue: unacknowledged escalations due to be notified again.
            models.Index(
                fields=["next_repeat_at"],
                condition=Q(next_repeat_at__isnull=False),
                name="escalation_repeat_idx",
            ),
            models.Index(fields=["recipient", "acknowledged_at"], name="escalation_recipient_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.alert} → {self.recipient} ({self.get_role_display()})"


class Notification(models.Model):
    """One message to one person about an escalation: shown in the support desk and emailed."""

    escalation = models.ForeignKey(
        Escalation, on_delete=models.PROTECT, related_name="notifications"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="notifications"
    )
    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="notifications")
    sequence = models.PositiveIntegerField(default=0, help_text="0 first, then each repeat.")
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    # Outbox: handed to a sender task (again, if it is late), claimed by the sender that sends
    # it, then marked sent.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    email_sent_at = models.DateTimeField(null=True, blank=True)
    email_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["escalation", "sequence"], name="notification_once"),
        ]
        indexes = [
            # The in-app list: a person's notifications, unread first.
            models.Index(
                fields=["recipient", "read_at", "created_at"], name="notification_inbox_idx"
            ),
            # Outbox: emails not sent yet.
            models.Index(
                fields=["created_at"],
                condition=Q(email_sent_at__isnull=True),
                name="notification_unsent_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"To {self.recipient} about {self.ticket_id} ({_local(self.created_at)})"


class Mailbox(models.Model):
    """A support address Meridian takes mail from: polled over IMAP, posted to over HTTP, or both.

    The IMAP password is never stored: `secret_env` names the environment variable holding it.
    The HTTP token is stored as its SHA-256 only.
    """

    name = models.CharField(max_length=80, unique=True)
    address = models.EmailField(help_text="The address customers write to.")
    active = models.BooleanField(default=True)
    imap_host = models.CharField(max_length=253, blank=True, help_text="Empty: not polled.")
    imap_port = models.PositiveIntegerField(default=993)
    imap_tls = models.BooleanField(default=True, help_text="Implicit TLS (port 993).")
    imap_user = models.CharField(max_length=254, blank=True)
    secret_env = models.CharField(
        max_length=64,
        blank=True,
        help_text="Name of the environment variable that holds the IMAP password.",
    )
    folder = models.CharField(max_length=255, default="INBOX")
    move_to = models.CharField(
        max_length=255, blank=True, help_text="Move stored messages here; empty: mark them seen."
    )
    default_organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="mailboxes",
        help_text="Unknown senders become requesters of this organisation instead of waiting "
        "in quarantine.",
    )
    default_region = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="mailboxes",
        help_text="Tickets from this mailbox start in this region instead of the home region.",
    )
    token_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    last_polled_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "mailboxes"

    def __str__(self) -> str:
        return f"{self.name} <{self.address}>"


class InboundEmail(models.Model):
    """Every message that reached Meridian, and what became of it. Nothing is dropped: a message
    is a ticket, a message on a ticket, quarantined (with its reason, to reprocess after a fix)
    or ignored (a duplicate delivery, a bounce, Meridian's own mail coming back)."""

    class Outcome(models.TextChoices):
        RECEIVED = "received", "Received (being stored)"
        TICKET = "ticket", "New ticket"
        MESSAGE = "message", "Message on a ticket"
        QUARANTINED = "quarantined", "Quarantined"
        IGNORED = "ignored", "Ignored"

    class Via(models.TextChoices):
        PIPE = "pipe", "MTA pipe or file"
        IMAP = "imap", "IMAP polling"
        HTTP = "http", "HTTP inbound hook"
        REPROCESS = "reprocess", "Reprocessed"

    mailbox = models.ForeignKey(
        Mailbox, on_delete=models.PROTECT, null=True, blank=True, related_name="inbound"
    )
    via = models.CharField(max_length=10, choices=Via.choices)
    # The Message-ID (`<...>`), or `sha256:<hex>` of the raw bytes for a message without one.
    dedupe_key = models.CharField(max_length=255)
    duplicate_of = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="redeliveries"
    )
    raw = models.BinaryField(blank=True, help_text="The message exactly as it arrived.")
    size = models.PositiveIntegerField(default=0)
    sender = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=255, blank=True)
    received_at = models.DateTimeField()
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    reason = models.CharField(max_length=500, blank=True)
    ticket = models.ForeignKey(
        Ticket, on_delete=models.PROTECT, null=True, blank=True, related_name="inbound_emails"
    )
    message = models.ForeignKey(
        Message, on_delete=models.PROTECT, null=True, blank=True, related_name="inbound_emails"
    )
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = "inbound email"
        constraints = [
            # A message is stored once, whichever way in delivered it; redeliveries point at it.
            models.UniqueConstraint(
                fields=["dedupe_key"],
                condition=Q(duplicate_of__isnull=True),
                name="inboundemail_stored_once",
            ),
            models.CheckConstraint(
                condition=Q(
                    outcome__in=["received", "ticket", "message", "quarantined", "ignored"]
                ),
                name="inboundemail_outcome_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["outcome", "received_at"], name="inboundemail_outcome_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()}: {self.subject or '(no subject)'} from {self.sender}"


class OutboundEmail(models.Model):
    """An email to a customer, written with the change it reports (the outbox) and sent after
    commit by a task that claims it; its Message-ID threads the customer's answers."""

    class Kind(models.TextChoices):
        ACKNOWLEDGEMENT = "ack", "Acknowledgement"
        REPLY = "reply", "Agent reply"
        WAITING = "waiting", "Waiting on customer"
        RESOLVED = "resolved", "Resolved"
        REFUSED = "refused", "Message refused"
        ROOT_CAUSE = "cause", "Root cause"

    AUTOMATIC = ("ack", "waiting", "resolved", "refused")

    kind = models.CharField(max_length=8, choices=Kind.choices)
    ticket = models.ForeignKey(
        Ticket, on_delete=models.PROTECT, null=True, blank=True, related_name="outbound_emails"
    )
    reply = models.ForeignKey(
        Message,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="outbound_emails",
        help_text="The agent's reply this email copies.",
    )
    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, null=True, blank=True, related_name="outbound_emails"
    )
    to_address = models.EmailField()
    subject = models.CharField(max_length=255)
    message_id = models.CharField(max_length=255)
    in_reply_to = models.CharField(max_length=255, blank=True)
    references = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    dispatched_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    skipped_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "outbound email"
        constraints = [
            models.UniqueConstraint(fields=["message_id"], name="outboundemail_message_id_unique"),
        ]
        indexes = [
            # The cap on automatic mail to one address.
            models.Index(fields=["to_address", "created_at"], name="outboundemail_to_idx"),
            # The outbox: mail neither sent nor skipped.
            models.Index(
                fields=["created_at"],
                condition=Q(sent_at__isnull=True, skipped_reason=""),
                name="outboundemail_unsent_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.to_address}"


class RoutingRule(models.Model):
    """Sends matching tickets to a chosen team, ahead of follow-the-sun routing (for example
    every voice P1 to the voice specialists). Rules are tried by position; the first whose
    every given condition matches wins. An empty condition matches anything."""

    position = models.PositiveSmallIntegerField(default=100, help_text="Lower runs first.")
    name = models.CharField(max_length=120)
    active = models.BooleanField(default=True)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    priority = models.CharField(max_length=2, choices=Priority.choices, blank=True)
    channel = models.CharField(max_length=8, choices=Ticket.Channel.choices, blank=True)
    product_area = models.CharField(max_length=12, choices=Ticket.ProductArea.choices, blank=True)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="routing_rules")
    only_on_shift = models.BooleanField(
        default=False,
        help_text="Apply only while the team is on shift; otherwise follow the sun as usual.",
    )

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(priority__in=["", "p1", "p2", "p3", "p4"]),
                name="routingrule_priority_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Handover(models.Model):
    """A team's shift that ended, handed over once: the row is claimed before any ticket moves,
    so two beats or a retry find it taken and move nothing twice."""

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="handovers")
    shift_ended_at = models.DateTimeField()
    at = models.DateTimeField(help_text="When the handover ran.")
    moved = models.PositiveIntegerField(default=0, help_text="Tickets moved to the next team.")

    class Meta:
        ordering = ["-shift_ended_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["team", "shift_ended_at"], name="handover_once"),
        ]

    def __str__(self) -> str:
        return f"{self.team} at {_local(self.shift_ended_at)}"


class CannedResponse(models.Model):
    """A prepared answer agents insert into a reply; `{placeholders}` are filled from the
    ticket and the agent (`tickets.canned`). Team leads and administrators keep them; agents use
    them. A response with a team is offered to that team's agents only."""

    title = models.CharField(max_length=120)
    body = models.TextField(help_text="Placeholders such as {customer_name} or {ticket_reference}.")
    active = models.BooleanField(default=True)
    team = models.ForeignKey(
        Team,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="canned_responses",
        help_text="Empty: offered to every agent.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title", "id"]
        constraints = [
            models.UniqueConstraint(fields=["title"], name="cannedresponse_title_unique"),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        canned_check(self.body)
