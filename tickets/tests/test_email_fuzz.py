"""Malformed MIME against the email channel: parse_email reads it or says MalformedEmail, and
ingest() always ends in one of its four outcomes with an InboundEmail row, never raising."""

import base64
import re
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from tickets.channels.email import ingest
from tickets.channels.email.parse import MalformedEmail, ParsedEmail, parse_email
from tickets.models import InboundEmail

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
OUTCOMES = {"ticket", "message", "quarantined", "ignored"}
CONTENT_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")

pytestmark = pytest.mark.usefixtures("media")

# --- Pieces -----------------------------------------------------------------------------------

charsets = st.sampled_from(
    [
        b"utf-8",
        b"UTF-8",
        b"us-ascii",
        b"iso-8859-1",
        b"windows-1252",
        b"koi8-r",
        b"iso-2022-jp",
        b"shift_jis",
        b"gb2312",
        b"utf-16",
        b"utf-7",
        b"x-unknown",
        b"unknown-8bit",
        b"base64",
        b"rot13",
        b"unicode-escape",
        b"raw-unicode-escape",
        b"idna",
        b"undefined",
        b'"utf-8',
        b"utf-8\x00",
        b"",
        b"\xff\xfe",
    ]
)
junk = st.binary(max_size=120)
special = st.sampled_from(
    [
        b"\x00",
        b"\x00\x00\x00",
        b'\x1b$B$"$$\x1b(B',  # ISO-2022-JP, valid
        b"\x1b$B\xff\xfe\x1b(B",  # ISO-2022-JP, invalid bytes
        b"\x1b$B",  # ISO-2022-JP, unterminated
        b"+2AA-",  # UTF-7 for a lone surrogate
        b"+ZeVnLIqe-",
        b"\\ud800\\N{nope}\\x",
        b"\xd0\x9f\xd1\x80\xd0\xb8",
        b"Gr\xfc\xdfe",
        b"\xc3(",
        b"\xed\xa0\x80",
        b"\r",
        b"\n",
        b"\r\n\r\n",
        b"=?",
        b"?=",
        b"--",
        b"\t",
        b"\xef\xbb\xbf",
    ]
)
words = st.one_of(
    st.text(max_size=40).map(lambda text: text.encode("utf-8", "surrogatepass")),
    junk,
    special,
)
line_bytes = st.lists(words, max_size=6).map(b"".join)


def _b64(data: bytes) -> bytes:
    return base64.b64encode(data)


encoded_word = st.builds(
    lambda charset, encoding, payload, broken: (
        b"=?" + charset + b"?" + encoding + b"?" + (payload if broken else _b64(payload)) + b"?="
    ),
    charsets,
    st.sampled_from([b"B", b"b", b"Q", b"q", b"X", b""]),
    line_bytes,
    st.booleans(),
)
addresses = st.sampled_from(
    [
        b"rita.requester@acme.test",
        b"<rita.requester@acme.test>",
        b"Rita <rita.requester@acme.test>",
        b"someone.new@acme.test",
        b"=?utf-8?B?TcO8bGxlciwgQW5uYQ==?= <anna@acme.test>",
        b'"M\xc3\xbcller, Anna" <anna@acme.test>',
        b"zed@unknown.test",
        b"undisclosed-recipients:;",
        b"<>",
        b"@",
        b"a@b@c",
        b"\x00@acme.test",
        b"MAILER-DAEMON",
        b'"unterminated <x@acme.test>',
        b"",
    ]
)
header_value = st.lists(st.one_of(encoded_word, line_bytes, addresses), max_size=4).map(b" ".join)
header_names = st.sampled_from(
    [
        b"From",
        b"To",
        b"Cc",
        b"Subject",
        b"Message-ID",
        b"In-Reply-To",
        b"References",
        b"Date",
        b"Content-Type",
        b"Content-Transfer-Encoding",
        b"Content-Disposition",
        b"Auto-Submitted",
        b"Precedence",
        b"List-Id",
        b"X-Auto-Response-Suppress",
        b"Return-Path",
        b"X-Meridian-Outbound",
        b"MIME-Version",
        b"X-\xff\xfe",
        b"",
        b" Folded",
    ]
)
message_ids = st.one_of(
    st.uuids().map(lambda uuid: b"<" + uuid.hex.encode() + b"@fuzz.test>"),
    st.sampled_from(
        [b"", b"<>", b"<a b@c>", b"<dup@fuzz.test>", b"<\x00@fuzz.test>", b"no-brackets"]
    ),
)
transfer_encodings = st.sampled_from(
    [b"7bit", b"8bit", b"binary", b"base64", b"quoted-printable", b"x-uuencode", b"bogus", b""]
)
filenames = st.one_of(
    st.sampled_from(
        [
            b'filename="../../etc/passwd"',
            b'filename="..\\\\..\\\\windows\\\\system32\\\\cmd.exe"',
            b'filename="/etc/shadow"',
            b'filename="a\x01\x07\x1b[31mb.pdf"',
            b'filename="report\xe2\x80\xaefdp.exe"',
            b"filename*=x-bad''%FF%2E%2E%2Fa.pdf",
            b"filename*=undefined''%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
            b"filename*=utf-7''+2AA-.txt",
            b"filename*=utf-8''%C3%BC%00ber.txt",
            b"filename*0*=utf-8''a%C3; filename*1*=%BC.txt; filename*3=lost",
            b'filename="=?utf-8?B?Li4vLi4vZXRjL3Bhc3N3ZA==?="',
            b'filename="=?x-unknown?Q?R=E9sum=E9.pdf?="',
            b'filename="' + b"A" * 400 + b'.pdf"',
            b'filename=""',
            b"filename=",
            b'filename="."',
            b'filename="..."',
        ]
    ),
    line_bytes.map(lambda name: b'filename="' + name + b'"'),
)
content_types = st.sampled_from(
    [
        b"text/plain",
        b"text/html",
        b"text/enriched",
        b"application/pdf",
        b"application/octet-stream",
        b"application/pkcs7-signature",
        b"image/png",
        b"message/delivery-status",
        b"message/rfc822",
        b"text/rfc822-headers",
        b"t\xc3\xa4xt/plain",
        b"nonsense",
        b"/",
        b"",
    ]
)


@st.composite
def leaf(draw) -> bytes:
    """One non-multipart part, its headers and body as broken as they come."""
    lines = [
        b"Content-Type: "
        + draw(content_types)
        + draw(st.sampled_from([b"", b"; charset="]))
        + draw(charsets)
    ]
    if draw(st.booleans()):
        lines.append(b"Content-Transfer-Encoding: " + draw(transfer_encodings))
    if draw(st.booleans()):
        disposition = draw(st.sampled_from([b"attachment", b"inline", b"", b"bogus"]))
        lines.append(b"Content-Disposition: " + disposition + b"; " + draw(filenames))
    if draw(st.booleans()):
        lines.append(b"Content-ID: <" + draw(line_bytes) + b">")
    body = draw(
        st.one_of(
            line_bytes,
            line_bytes.map(_b64),
            st.sampled_from([b"!!!!====", b"=ZZ=\n=0", b"=\n=\n=", b"begin 644 x\n!!!\nend"]),
            st.just(
                b"Reporting-MTA: dns; mx\n\nFinal-Recipient: rfc822; \xff@acme.test\n"
                b"Action: failed\nStatus: 5.\x001\n\nAction: failed\n"
            ),
        )
    )
    return b"\n".join(lines) + b"\n\n" + body


def multipart(children: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    @st.composite
    def build(draw) -> bytes:
        parts = draw(st.lists(children, max_size=4))
        boundary = draw(st.sampled_from([b"b1", b"==b==", b"x" * 70, b"", b"--", b"b\xff"]))
        used = draw(st.sampled_from([boundary, boundary, b"other", boundary + b"extra"]))
        kind = draw(
            st.sampled_from(
                [
                    b"multipart/mixed",
                    b"multipart/alternative",
                    b"multipart/related",
                    b"multipart/signed",
                    b"multipart/report; report-type=delivery-status",
                    b"multipart/digest",
                ]
            )
        )
        parameter = draw(
            st.sampled_from(
                [
                    b'; boundary="' + boundary + b'"',
                    b"; boundary=" + boundary,
                    b"",  # the boundary is missing
                    b'; boundary="' + boundary + b'"; boundary="dup"',
                ]
            )
        )
        body = b"preamble\n"
        for part in parts:
            body += b"\n--" + used + b"\n" + part
        if draw(st.booleans()):
            body += b"\n--" + used + b"--\n"  # else: never closed
        body += draw(st.sampled_from([b"", b"epilogue\n", b"\n--" + used + b"\n"]))
        return b"Content-Type: " + kind + parameter + b"\n\n" + body

    return build()


def forwarded(children: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    return st.tuples(st.sampled_from([b"", b"Content-Transfer-Encoding: base64\n"]), children).map(
        lambda pair: b"Content-Type: message/rfc822\n" + pair[0] + b"\n" + pair[1]
    )


parts = st.recursive(
    leaf(), lambda children: st.one_of(multipart(children), forwarded(children)), max_leaves=10
)


def nested(depth: int) -> bytes:
    """`depth` multiparts, each inside the one before."""
    head = b"".join(
        b"--n%d\nContent-Type: multipart/mixed; boundary=n%d\n\n" % (level, level + 1)
        for level in range(depth)
    )
    tail = b"".join(b"\n--n%d--\n" % level for level in reversed(range(depth)))
    return b"Content-Type: multipart/mixed; boundary=n0\n\n" + head + b"text\n" + tail


@st.composite
def messages(draw) -> bytes:
    """A whole message: top-level headers (missing, repeated, huge, broken) and a body."""
    headers = []
    for _ in range(draw(st.sampled_from([0, 1, 1, 1, 2]))):  # no From, one, or two
        headers.append(b"From: " + draw(st.one_of(addresses, header_value)))
    for _ in range(draw(st.sampled_from([0, 1, 1, 2]))):
        headers.append(b"Message-ID: " + draw(message_ids))
    headers += [
        name + b": " + value
        for name, value in draw(st.lists(st.tuples(header_names, header_value), max_size=6))
    ]
    if draw(st.integers(0, 9)) == 0:
        headers.append(b"Subject: " + b"A" * 100_000)
    if draw(st.integers(0, 9)) == 0:
        headers.append(b"X-Huge: " + b"=?utf-8?q?" + b"=C3" * 30_000 + b"?=")
    body = draw(
        st.one_of(
            parts,
            line_bytes,
            junk,
            st.integers(45, 80).map(nested),
        )
    )
    raw = b"\n".join(headers) + b"\n" + body
    newline = draw(st.sampled_from([b"\n", b"\r\n", b"\r", None]))
    if newline is not None:
        raw = raw.replace(b"\n", newline)
    if draw(st.integers(0, 14)) == 0:
        raw = draw(junk) + raw  # binary junk before the headers
    return raw


# --- Properties --------------------------------------------------------------------------------


def check_parsed(parsed: ParsedEmail) -> None:
    """What parse_email returns is safe to store: text without NUL or lone surrogates, file
    names without paths or control characters, content types that are types."""
    texts = [parsed.subject, parsed.sender, parsed.sender_name, parsed.text, parsed.html]
    texts += [parsed.message_id, *parsed.in_reply_to, *parsed.references]
    for text in texts:
        assert "\x00" not in text
        text.encode("utf-8")  # no lone surrogate
    assert len(parsed.subject) <= 255 and len(parsed.sender) <= 254
    for part in parsed.attachments:
        assert part.filename and part.filename == part.filename.strip(" ")
        assert "/" not in part.filename and "\\" not in part.filename
        assert part.filename not in {".", ".."}
        assert "." in part.filename.strip(".")
        assert not any(ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 for ch in part.filename)
        part.filename.encode("utf-8")
        assert len(part.filename) <= 120
        assert CONTENT_TYPE.fullmatch(part.content_type), part.content_type
        assert part.content_type not in {
            "application/pkcs7-signature",
            "application/x-pkcs7-signature",
            "application/pgp-signature",
        }


@settings(max_examples=400, deadline=None)
@given(raw=messages())
@example(raw=b"From: a@acme.test\nSubject: x\n\n" + nested(60))
@example(raw=b"From: a@acme.test\n" + nested(2000))
@example(raw=b"From: a@acme.test\nFrom: b@acme.test\nMessage-ID: <1@x>\nMessage-ID: <2@x>\n\nhi")
@example(raw=b"Subject: " + b"A" * 100_000 + b"\n\nno From at all")
@example(raw=b"\x00\x00\x00")
@example(raw=b"From: a@acme.test\rSubject: cr only\r\rbody\r")
def test_parse_email_reads_or_says_malformed(raw):
    try:
        parsed = parse_email(raw)
    except MalformedEmail as exc:
        assert str(exc)
        return
    assert isinstance(parsed, ParsedEmail)
    check_parsed(parsed)


@pytest.mark.parametrize(
    ("charset", "body", "text"),
    [
        ("iso-2022-jp", "配信が止まります".encode("iso2022_jp"), "配信が止まります"),
        ("koi8-r", "Здравствуйте".encode("koi8-r"), "Здравствуйте"),
        ("", "Grüße".encode("latin-1"), "Grüße"),
        ("x-unknown", "Grüße".encode(), "Grüße"),
        ("us-ascii", "Grüße".encode(), "Grüße"),
        ("iso-8859-1", "“Grüße”".encode("cp1252"), "“Grüße”"),
        ("shift_jis", "①番".encode("cp932"), "①番"),
    ],
)
def test_bodies_are_decoded_in_their_charset(charset, body, text):
    declared = f"; charset={charset}" if charset else ""
    raw = f"From: a@acme.test\nContent-Type: text/plain{declared}\n\n".encode() + body
    assert parse_email(raw).text == text


@pytest.mark.parametrize(
    ("header", "value"),
    [
        (b"=?x-unknown?Q?R=C3=A9my?= <a@acme.test>", "Rémy"),
        (b"=?utf-8?B?TcO8bGxlciwgQW5uYQ==?= <a@acme.test>", "Müller, Anna"),
        (b"\xc3\x9cbel <a@acme.test>", "Übel"),
        (b"\xdcbel <a@acme.test>", "Übel"),
        (b"=?utf-8?q?A?= =?utf-8?q?B?= <a@acme.test>", "AB"),
        (b"=?utf-8?b?###?= <a@acme.test>", "=?utf-8?b?###?="),
    ],
)
def test_sender_names_are_decoded(header, value):
    parsed = parse_email(b"From: " + header + b"\n\nhi")
    assert (parsed.sender_name, parsed.sender) == (value, "a@acme.test")


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(raw=messages())
@example(raw=b"From: rita.requester@acme.test\nSubject: x\n\n" + nested(60))
@example(raw=b"From: rita.requester@acme.test\nSubject: a\x00b\nMessage-ID: <\x00@x>\n\nc\x00d")
@example(raw=b"From: rita.requester@acme.test\nContent-Type: text/plain; charset=utf-7\n\n+2AA-")
@example(raw=b"")
def test_ingest_always_ends_in_one_outcome(contract_a, requester_a, raw):
    before = InboundEmail.objects.count()
    result = ingest(raw, now=NOW)
    event(result.outcome)
    assert result.outcome in OUTCOMES
    assert InboundEmail.objects.count() == before + 1
    record = InboundEmail.objects.get(pk=result.record.pk)
    assert (record.outcome, record.reason) == (result.outcome, result.reason)
    if result.outcome == "quarantined":
        assert record.reason
        assert bytes(record.raw) == raw
    elif result.outcome == "ignored" and result.reason == "duplicate":
        assert record.duplicate_of_id is not None
    elif result.outcome in {"ticket", "message"}:
        assert result.ticket is not None and result.message is not None
        assert bytes(record.raw) == raw
