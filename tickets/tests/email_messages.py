"""Building RFC 5322 messages for the email channel's tests."""

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid


def email_bytes(
    *,
    sender: str = "rita.requester@acme.test",
    to: str = "support@meridian.test",
    subject: str = "Stream drops every few minutes",
    body: str = "Our HLS stream drops every few minutes since this morning.",
    message_id: str | None = None,  # "": no Message-ID header
    in_reply_to: str = "",
    references: str = "",
    html: str = "",
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, str, bytes]] = (),
    date: datetime | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(date or datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    if message_id != "":
        message["Message-ID"] = message_id or make_msgid(domain="acme.test")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = references
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    if html:
        message.add_alternative(html, subtype="html")
    for filename, content_type, data in attachments:
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()
