"""One way in for every message, whichever way it arrived (pipe, Maildir, IMAP, HTTP hook).

`ingest()` records the message first (`InboundEmail`, keyed by its Message-ID or the hash of
its bytes, so a second delivery is recognised), then decides what it is and stores it through
the ticket services: a new ticket, a message on a ticket, an internal note, or quarantine with
its reason. It never raises on any input; only a database that cannot record anything (the
caller should retry: an MTA defers) makes it fail.
"""

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import EmailDomain, Member, Organisation
from portal.services import member_from_email, members_mark_bouncing
from tickets.channels.email.parse import MalformedEmail, ParsedEmail, parse_email
from tickets.channels.email.reply_text import reply_text
from tickets.models import InboundEmail, Mailbox, Message, OutboundEmail, Ticket
from tickets.rules import TicketError, attachments_check, reopen_deadline
from tickets.services import OpenedTicket, ticket_open, ticket_reply, ticket_system_note
from tickets.services.creation import REFERENCE_PREFIX
from tickets.services.customer_mail import refusal_queue

logger = logging.getLogger(__name__)
Outcome = InboundEmail.Outcome
TOKEN = re.compile(r"\[(" + re.escape(REFERENCE_PREFIX) + r"\d{6,})\]")


@dataclass(frozen=True)
class IngestResult:
    """What became of one message: `outcome` is `ticket`, `message`, `quarantined` or
    `ignored`; `record` is its `InboundEmail` (the quarantine record when quarantined)."""

    outcome: str
    reason: str
    record: InboundEmail | None
    ticket: Ticket | None = None
    message: Message | None = None

    def __str__(self) -> str:
        what = self.ticket.reference if self.ticket is not None else ""
        if self.record is not None and self.outcome == Outcome.QUARANTINED:
            what = f"#{self.record.pk}"
        return " ".join(part for part in (self.outcome, what, self.reason) if part)


# What processing stored: the outcome, its reason, the ticket and the message written.
Stored = tuple[str, str, Ticket, Message]


class _Stored(Exception):
    """Raised inside processing to end it with an outcome (quarantine, ignore)."""

    def __init__(self, outcome: str, reason: str, ticket: Ticket | None = None) -> None:
        super().__init__(reason)
        self.outcome, self.reason, self.ticket = outcome, reason, ticket


def dedupe_key(parsed: ParsedEmail | None, raw: bytes) -> str:
    if parsed is not None and parsed.message_id:
        return parsed.message_id
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _storable(text: str) -> str:
    """Text every database stores: no NUL (PostgreSQL refuses it), no lone surrogates."""
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def _as_bytes(raw: object) -> bytes:
    if isinstance(raw, bytes):
        return raw
    if isinstance(raw, bytearray | memoryview):
        return bytes(raw)
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogateescape")
    return b""


def ingest(
    raw: bytes,
    *,
    mailbox: Mailbox | None = None,
    via: str = InboundEmail.Via.PIPE,
    now: datetime | None = None,
) -> IngestResult:
    """Store one RFC 5322 message; see the module's docstring."""
    now = now or timezone.now()
    raw = _as_bytes(raw)
    parsed, problem = _parse(raw)
    record = _claim(raw, parsed, mailbox=mailbox, via=via, now=now)
    if record.duplicate_of_id is not None:
        return IngestResult(Outcome.IGNORED, "duplicate", record)
    return _process(record, parsed, problem, now=now)


def inbound_reprocess(
    record: InboundEmail, *, organisation: Organisation | None = None, now: datetime | None = None
) -> IngestResult:
    """Run a quarantined (or interrupted) message through the channel again, after a fix; with
    `organisation`, an unknown sender becomes a requester of it (an agent's decision)."""
    now = now or timezone.now()
    parsed, problem = _parse(bytes(record.raw or b""))
    InboundEmail.objects.filter(pk=record.pk).update(attempts=record.attempts + 1)
    record.attempts += 1
    if parsed is not None and parsed.message_id:
        # An interrupted run may have stored it before it could record the outcome.
        stored = (
            Message.objects.select_related("ticket")
            .filter(email_message_id=parsed.message_id)
            .first()
        )
        if stored is not None:
            return _finish(record, Outcome.MESSAGE, _("stored before"), stored.ticket, stored, now)
    return _process(record, parsed, problem, now=now, organisation=organisation)


def inbound_reprocessable() -> "QuerySet[InboundEmail]":
    """The messages `inbound_reprocess` takes: quarantined, or interrupted before their outcome
    was recorded; first deliveries only (a redelivery points at its first)."""
    return InboundEmail.objects.filter(
        outcome__in=[Outcome.QUARANTINED, Outcome.RECEIVED], duplicate_of__isnull=True
    )


def _parse(raw: bytes) -> tuple[ParsedEmail | None, str]:
    """The message, or None and why it cannot be read."""
    try:
        return parse_email(raw), ""
    except MalformedEmail as exc:
        why = str(exc)
    except Exception as exc:  # any parser failure on hostile input
        why = f"{type(exc).__name__}: {exc}"[:200]
    return None, _("could not be read: %(why)s") % {"why": why}


def _claim(
    raw: bytes, parsed: ParsedEmail | None, *, mailbox: Mailbox | None, via: str, now: datetime
) -> InboundEmail:
    """Record the message before anything else; a redelivery gets a row of its own that points
    at the first (the unique index on the key decides, however many deliver at once)."""
    record = InboundEmail(
        mailbox=mailbox,
        via=via,
        dedupe_key=_storable(dedupe_key(parsed, raw))[:255],
        raw=raw,
        size=len(raw),
        sender=_storable(parsed.sender)[:254] if parsed else "",
        subject=_storable(parsed.subject)[:255] if parsed else "",
        received_at=now,
        outcome=Outcome.RECEIVED,
    )
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # No wait for this commit's WAL flush: whatever ingest does next ends with a
                # flushed commit (the store's, or the outcome's), which makes this one durable
                # too before ingest returns.
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit = off")
            record.save(force_insert=True)
        return record
    except IntegrityError:
        first = InboundEmail.objects.filter(
            dedupe_key=record.dedupe_key, duplicate_of__isnull=True
        ).first()
        if first is None:
            raise
        record.pk = None
        record.duplicate_of = first
        record.raw = b""
        record.outcome = Outcome.IGNORED
        record.reason = "duplicate"
        record.processed_at = now
        record.save(force_insert=True)
        return record


def _process(
    record: InboundEmail,
    parsed: ParsedEmail | None,
    problem: str,
    *,
    now: datetime,
    organisation: Organisation | None = None,
) -> IngestResult:
    ticket: Ticket | None = None
    message: Message | None = None
    try:
        if parsed is None:
            raise _Stored(Outcome.QUARANTINED, problem)
        outcome, reason, ticket, message = _store(
            record, parsed, now=now, organisation=organisation
        )
    except _Stored as stored:
        outcome, reason, ticket = stored.outcome, stored.reason, stored.ticket
    except Exception as exc:  # a bug or a rule we did not foresee: keep the message
        logger.exception("inbound email %s could not be stored", record.pk)
        outcome, reason = Outcome.QUARANTINED, f"{type(exc).__name__}: {exc}"[:500]
    return _finish(record, outcome, reason, ticket, message, now)


def _finish(
    record: InboundEmail,
    outcome: str,
    reason: str,
    ticket: Ticket | None,
    message: Message | None,
    now: datetime,
) -> IngestResult:
    record.outcome, record.reason = outcome, reason[:500]
    record.ticket, record.message, record.processed_at = ticket, message, now
    InboundEmail.objects.filter(pk=record.pk).update(
        outcome=outcome,
        reason=record.reason,
        ticket=ticket,
        message=message,
        processed_at=now,
    )
    return IngestResult(outcome, record.reason, record, ticket, message)


# --- Deciding ---------------------------------------------------------------------------------


def _store(
    record: InboundEmail,
    parsed: ParsedEmail,
    *,
    now: datetime,
    organisation: Organisation | None,
) -> Stored:
    mailbox = record.mailbox
    if _is_our_own(parsed):
        raise _Stored(Outcome.IGNORED, _("Meridian's own mail came back (loop)"))
    if record.size > settings.EMAIL_MAX_BYTES:
        _refuse(parsed, _("the message is larger than %(mb)d MB") % {"mb": _mb()}, now=now)
    if parsed.is_report:
        for bounce in parsed.bounces:
            members_mark_bouncing(
                address=bounce.address,
                reason=f"{bounce.status} {bounce.diagnostic}".strip(),
                now=now,
            )
        addresses = ", ".join(bounce.address for bounce in parsed.bounces) or _("no recipient")
        raise _Stored(
            Outcome.IGNORED,
            _("delivery status notification (bouncing: %(addresses)s)") % {"addresses": addresses},
        )
    if "@" not in parsed.sender:
        raise _Stored(Outcome.QUARANTINED, _("no sender address"))
    member = _member_of(parsed.sender)
    sender_org = member.organisation if member else _domain_organisation(parsed.sender)
    if sender_org is None:
        sender_org = organisation or (mailbox.default_organisation if mailbox else None)
    files = [
        SimpleUploadedFile(part.filename, part.data, content_type=part.content_type)
        for part in parsed.attachments
    ]
    matched = _thread(parsed)
    if matched is not None:
        if sender_org is not None and sender_org.pk == matched.organisation_id:
            return _on_ticket(matched, parsed, member, sender_org, files, record, now=now)
        _stranger_note(matched, parsed, now=now)
    if parsed.auto_reply:
        raise _Stored(Outcome.IGNORED, _("automatic reply about no ticket of the sender's"))
    if sender_org is None:
        raise _Stored(Outcome.QUARANTINED, _("unknown sender"))
    _check_files(parsed, files, now=now)
    member = member or member_from_email(
        organisation=sender_org, address=parsed.sender, name=parsed.sender_name
    )
    opened = _open(
        parsed,
        sender_org,
        member,
        files,
        now=now,
        region=mailbox.default_region if mailbox else None,
        acknowledge=not parsed.automatic,
    )
    return Outcome.TICKET, "", opened.ticket, opened.message


def _on_ticket(
    ticket: Ticket,
    parsed: ParsedEmail,
    member: Member | None,
    organisation: Organisation,
    files: list[SimpleUploadedFile],
    record: InboundEmail,
    *,
    now: datetime,
) -> Stored:
    in_reply_to = (parsed.thread_ids or [""])[0]
    if parsed.automatic:
        note = ticket_system_note(
            ticket=ticket,
            body_text=_("Automatic message from %(sender)s (%(why)s):\n\n%(text)s")
            % {"sender": parsed.sender, "why": parsed.automatic, "text": parsed.text.strip()},
            now=now,
            email_message_id=parsed.message_id,
            email_in_reply_to=in_reply_to,
            data={"inbound_email": str(record.pk)},
        )
        why = _("automatic message stored as an internal note (%(why)s)") % {
            "why": parsed.automatic
        }
        return Outcome.MESSAGE, why, ticket, note
    _check_files(parsed, files, now=now)
    member = member or member_from_email(
        organisation=organisation, address=parsed.sender, name=parsed.sender_name
    )
    deadline = reopen_deadline(ticket)
    too_late = ticket.status == Ticket.Status.CLOSED or (deadline is not None and now > deadline)
    if too_late:
        opened = _open(
            parsed,
            organisation,
            member,
            files,
            now=now,
            priority=ticket.priority,
            product_area=ticket.product_area,
            follow_up_of=ticket,
        )
        why = _("follow-up of %(reference)s") % {"reference": ticket.reference}
        return Outcome.TICKET, why, opened.ticket, opened.message
    text = reply_text(parsed.text) or _("(The message has no text.)")
    message = ticket_reply(
        ticket=ticket,
        author=member.user,
        body_text=text,
        now=now,
        channel=Ticket.Channel.EMAIL,
        body_html=parsed.html,
        email_message_id=parsed.message_id,
        email_in_reply_to=in_reply_to,
        attachments=files,
    )
    return Outcome.MESSAGE, "", ticket, message


def _open(
    parsed: ParsedEmail,
    organisation: Organisation,
    requester: Member,
    files: list[SimpleUploadedFile],
    *,
    now: datetime,
    **options: Any,
) -> OpenedTicket:
    """A new email ticket from the message (`options`: region, priority, follow-up, …)."""
    return ticket_open(
        organisation=organisation,
        requester=requester,
        channel=Ticket.Channel.EMAIL,
        subject=_subject(parsed),
        body_text=parsed.text.strip() or _("(The message has no text.)"),
        body_html=parsed.html,
        email_message_id=parsed.message_id,
        attachments=files,
        now=now,
        **options,
    )


def _stranger_note(ticket: Ticket, parsed: ParsedEmail, *, now: datetime) -> None:
    ticket_system_note(
        ticket=ticket,
        body_text=_(
            "A message from %(sender)s (subject: %(subject)s) referred to this ticket, but the "
            "sender is not one of %(organisation)s's people; it was not added here."
        )
        % {
            "sender": parsed.sender or _("an unknown sender"),
            "subject": parsed.subject or _("(no subject)"),
            "organisation": ticket.organisation,
        },
        now=now,
        data={"stranger": parsed.sender},
    )


def _check_files(parsed: ParsedEmail, files: list[SimpleUploadedFile], *, now: datetime) -> None:
    try:
        attachments_check(files)
    except TicketError as exc:
        _refuse(parsed, str(exc.message), now=now)


def _refuse(parsed: ParsedEmail, reason: str, *, now: datetime) -> None:
    """Quarantine with `reason`, and tell a human sender once (never a machine: no loops)."""
    if parsed.sender and not parsed.automatic:  # our own mail was ignored before this
        refusal_queue(address=parsed.sender, subject=parsed.subject, reason=reason, now=now)
    raise _Stored(Outcome.QUARANTINED, reason)


def _mb() -> int:
    return settings.EMAIL_MAX_BYTES // (1024 * 1024)


def _subject(parsed: ParsedEmail) -> str:
    subject = TOKEN.sub("", parsed.subject)
    return " ".join(subject.split()) or _("(no subject)")


# --- Looking up -------------------------------------------------------------------------------


def _is_our_own(parsed: ParsedEmail) -> bool:
    """Mail Meridian sent: every one carries `X-Meridian-Outbound` and a Message-ID of our
    domain (a relay that strips the header keeps the Message-ID)."""
    domain = "@" + settings.EMAIL_MESSAGE_ID_DOMAIN + ">"
    return parsed.meridian_outbound or parsed.message_id.endswith(domain)


def _member_of(address: str) -> Member | None:
    return (
        # The home region gives the organisation's local day, which picks its contract.
        Member.objects.select_related("user", "organisation__home_region")
        .filter(user__email__iexact=address, user__is_active=True)
        .order_by("pk")
        .first()
    )


def _domain_organisation(address: str) -> Organisation | None:
    """The organisation whose email domain (or a parent of it) the address is at."""
    labels = address.rpartition("@")[2].strip(".").split(".")
    candidates = [".".join(labels[i:]) for i in range(len(labels) - 1)]
    if not candidates:
        return None
    found = sorted(
        EmailDomain.objects.select_related("organisation__home_region").filter(
            domain__in=candidates
        ),
        key=lambda row: len(row.domain),
        reverse=True,
    )
    return found[0].organisation if found else None


def _thread(parsed: ParsedEmail) -> Ticket | None:
    """The ticket this message answers: by the Message-IDs it cites (ours or received), then
    by the reference token in its subject."""
    ids = parsed.thread_ids
    ticket_id = None
    if ids:
        ticket_id = (
            # `nonempty` lets every plan, a prepared statement's generic one too, use the
            # partial unique index (`email_message_id <> ''`).
            Message.objects.filter(email_message_id__in=ids, email_message_id__nonempty=True)
            .values_list("ticket_id", flat=True)
            .first()
        ) or (
            OutboundEmail.objects.filter(message_id__in=ids, ticket__isnull=False)
            .values_list("ticket_id", flat=True)
            .first()
        )
    queryset = Ticket.objects.select_related("organisation")
    if ticket_id is not None:
        return queryset.filter(pk=ticket_id).first()
    token = TOKEN.search(parsed.subject)
    return queryset.filter(reference=token.group(1)).first() if token else None
