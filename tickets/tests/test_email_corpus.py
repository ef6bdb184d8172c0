"""The email channel against messages as real clients and servers write them (email_corpus/)."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from conftest import make_member
from portal.models import Member
from tickets.channels.email import ingest
from tickets.models import Attachment, InboundEmail, OutboundEmail

NOW = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
CORPUS = Path(__file__).parent / "email_corpus"
FILES = sorted(CORPUS.glob("*.eml"))
OUTCOMES = {"ticket", "message", "quarantined", "ignored"}

pytestmark = pytest.mark.usefixtures("media", "contract_a", "requester_a")


def corpus(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def acks(**filters) -> int:
    return OutboundEmail.objects.filter(kind=OutboundEmail.Kind.ACKNOWLEDGEMENT, **filters).count()


def filenames(ticket) -> set[str]:
    return set(Attachment.objects.filter(ticket=ticket).values_list("filename", flat=True))


def test_the_corpus_is_there():
    assert 15 <= len(FILES) <= 25


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.name)
def test_every_message_ends_in_one_outcome_and_one_record(path):
    raw = path.read_bytes()
    result = ingest(raw, now=NOW)
    assert result.outcome in OUTCOMES
    record = InboundEmail.objects.get()
    assert record.pk == result.record.pk
    assert (record.outcome, record.reason) == (result.outcome, result.reason)
    assert record.processed_at == NOW
    assert bytes(record.raw) == raw
    if result.outcome == "quarantined":
        assert record.reason
    if result.outcome in {"ticket", "message"}:
        assert result.ticket is not None and result.message is not None


@pytest.mark.parametrize(
    ("name", "outcome"),
    [
        ("01_outlook_exchange.eml", "ticket"),
        ("02_gmail_unknown_sender.eml", "quarantined"),
        ("04_thunderbird_flowed.eml", "ticket"),
        ("09_outlook_out_of_office.eml", "ignored"),
        ("10_postfix_dsn.eml", "ignored"),
        ("11_exchange_ndr.eml", "ignored"),
        ("12_mailing_list.eml", "ticket"),
        ("19_outlook_winmail_unknown.eml", "quarantined"),
    ],
)
def test_outcome_by_kind_of_message(name, outcome):
    assert ingest(corpus(name), now=NOW).outcome == outcome


def test_a_person_at_a_known_domain_opens_a_ticket_and_is_acknowledged():
    result = ingest(corpus("01_outlook_exchange.eml"), now=NOW)
    assert result.ticket.subject == "Encoder in Frankfurt drops the SRT feed"
    assert result.ticket.requester.user.email == "marc.weber@acme.test"
    assert "drops the SRT feed every few minutes" in result.message.body_text
    assert acks(ticket=result.ticket, to_address="marc.weber@acme.test") == 1


def test_an_unknown_sender_is_quarantined_with_the_exact_bytes():
    raw = corpus("02_gmail_unknown_sender.eml")
    result = ingest(raw, now=NOW)
    record = InboundEmail.objects.get(pk=result.record.pk)
    assert (record.outcome, record.reason) == ("quarantined", "unknown sender")
    assert bytes(record.raw) == raw
    assert record.subject == "Pricing question – can we get a trial?"
    assert acks() == 0


@pytest.mark.parametrize(
    ("name", "address"),
    [("10_postfix_dsn.eml", "paul.gone@acme.test"), ("11_exchange_ndr.eml", "dana.left@acme.test")],
)
def test_a_delivery_status_notification_marks_the_failed_address(org_a, requester_a, name, address):
    bounced = make_member(address, org_a)
    result = ingest(corpus(name), now=NOW)
    assert result.outcome == "ignored"
    assert address in result.reason
    bounced.refresh_from_db()
    requester_a.refresh_from_db()
    assert bounced.email_bouncing_since == NOW
    assert requester_a.email_bouncing_since is None
    assert not Member.objects.filter(user__email__iexact=result.record.sender).exists()
    assert OutboundEmail.objects.count() == 0


def test_an_out_of_office_is_never_acknowledged():
    opened = ingest(corpus("01_outlook_exchange.eml"), now=NOW)
    assert acks() == 1
    alone = ingest(corpus("09_outlook_out_of_office.eml"), now=NOW)
    assert alone.outcome == "ignored"
    # The same auto-reply about a real ticket of the sender's organisation.
    raw = corpus("09_outlook_out_of_office.eml").replace(
        b"[MRD-000123]", f"[{opened.ticket.reference}]".encode()
    )
    raw = raw.replace(b"<f1e2d3c4b5a6", b"<second-f1e2d3c4b5a6")
    on_ticket = ingest(raw, now=NOW)
    assert on_ticket.outcome == "message"
    assert on_ticket.ticket == opened.ticket
    assert on_ticket.message.visibility == "internal"
    assert acks() == 1
    assert not OutboundEmail.objects.filter(to_address__iexact="olga.admin@acme.test").exists()


def test_a_mailing_list_message_is_not_acknowledged():
    person = ingest(corpus("04_thunderbird_flowed.eml"), now=NOW)
    listed = ingest(corpus("12_mailing_list.eml"), now=NOW)
    assert listed.outcome == "ticket"
    assert acks(ticket=person.ticket) == 1
    assert acks(ticket=listed.ticket) == 0


def test_an_html_only_newsletter_keeps_its_text_and_loses_its_scripts():
    result = ingest(corpus("16_html_newsletter.eml"), now=NOW)
    assert result.outcome == "ticket"
    assert acks(ticket=result.ticket) == 0  # bulk mail
    text, html = result.message.body_text, result.message.body_html
    assert "Live sports season starts" in text
    assert "every home match in 4K" in text
    for script in ("<script", "tracking-pixel-loader", "secretTracker", "font-family"):
        assert script not in text
    assert "every home match in 4K" in html
    for script in ("<script", "tracking-pixel-loader", "secrettracker", "onclick"):
        assert script not in html.lower()


@pytest.mark.parametrize(
    ("name", "subject", "words"),
    [
        (
            "05_japanese_iso2022jp.eml",
            "配信が止まります",
            ["お世話になっております", "確認をお願いします"],
        ),
        ("06_russian_koi8r.eml", "Трансляция не работает", ["Здравствуйте", "пожалуйста"]),
        ("18_latin1_8bit_no_charset.eml", "Störung beim Livestream", ["früh", "Grüßen"]),
        ("19_outlook_winmail_unknown.eml", "Dotaz na nabídku", []),
        ("20_rfc2047_filename_attachment.eml", "Rechnung für März", ["für März"]),
    ],
)
def test_charsets_are_decoded(name, subject, words):
    result = ingest(corpus(name), now=NOW)
    assert result.record.subject == subject
    if result.outcome == "ticket":
        assert result.ticket.subject == subject
        for word in words:
            assert word in result.message.body_text
        assert "\ufffd" not in result.message.body_text


def test_names_in_encoded_words_are_decoded_after_the_address_is_found():
    result = ingest(corpus("20_rfc2047_filename_attachment.eml"), now=NOW)
    assert result.record.sender == "anna.mueller@acme.test"
    user = result.ticket.requester.user
    assert f"{user.first_name} {user.last_name}" == "Müller, Anna"
    japanese = ingest(corpus("05_japanese_iso2022jp.eml"), now=NOW)
    user = japanese.ticket.requester.user
    assert (user.first_name, user.last_name) == ("田中", "健")


def test_a_signature_is_not_an_attachment_but_the_pdf_is():
    result = ingest(corpus("13_smime_signed_with_pdf.eml"), now=NOW)
    assert result.outcome == "ticket"
    assert filenames(result.ticket) == {"sla-february-2026.pdf"}
    pdf = Attachment.objects.get(ticket=result.ticket)
    assert pdf.content_type == "application/pdf"
    assert pdf.file.read().startswith(b"%PDF-1.4")
    assert "0.3 points" in result.message.body_text


def test_attachment_names_lose_their_paths():
    result = ingest(corpus("14_pdf_attachment_with_path.eml"), now=NOW)
    assert result.outcome == "ticket"
    names = filenames(result.ticket)
    assert names == {"INV-2026-0217.pdf", "passwd.txt"}
    for name in names:
        assert "/" not in name and "\\" not in name and ".." not in name


def test_encoded_attachment_names_are_decoded():
    result = ingest(corpus("20_rfc2047_filename_attachment.eml"), now=NOW)
    assert filenames(result.ticket) == {"Rechnung_März_2026.pdf", "Notizen über den Vertrag.txt"}


def test_an_inline_image_is_kept():
    result = ingest(corpus("03_apple_mail_inline_image.eml"), now=NOW)
    assert filenames(result.ticket) == {"black-frame.png"}
    assert "black frame for about two" in result.message.body_text


def test_a_forwarded_message_keeps_its_text_and_its_files():
    result = ingest(corpus("15_forwarded_rfc822.eml"), now=NOW)
    assert result.outcome == "ticket"
    text = result.message.body_text
    assert text.startswith("Please see the warning below")
    assert "From: Certificate Monitor <alerts@certwatch.example>" in text
    assert "expires in 14 days (2026-03-15)" in text
    assert filenames(result.ticket) == {"certificates.csv"}


@pytest.mark.parametrize(
    ("original", "reply", "new", "quoted"),
    [
        (
            "01_outlook_exchange.eml",
            "07_german_reply.eml",
            "läuft der Feed wieder stabil",
            "every few minutes",
        ),
        (
            "03_apple_mail_inline_image.eml",
            "08_french_reply.eml",
            "le problème se produit aussi sur iOS 18",
            "black frame for about two",
        ),
    ],
)
def test_a_reply_joins_its_ticket_without_the_quote(original, reply, new, quoted):
    opened = ingest(corpus(original), now=NOW)
    answer = ingest(corpus(reply), now=NOW)
    assert answer.outcome == "message"
    assert answer.ticket == opened.ticket
    assert new in answer.message.body_text
    assert quoted not in answer.message.body_text


def test_a_message_without_message_id_is_recognised_when_delivered_twice():
    raw = corpus("17_no_message_id.eml")
    first = ingest(raw, now=NOW)
    again = ingest(raw, now=NOW)
    assert first.outcome == "ticket"
    assert first.record.dedupe_key.startswith("sha256:")
    assert (again.outcome, again.reason) == ("ignored", "duplicate")
    assert again.record.duplicate_of_id == first.record.pk
