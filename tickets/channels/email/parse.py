"""Reading an RFC 5322 message into what the email channel needs, whatever state it is in.

Headers are decoded leniently (RFC 2047 words, unknown charsets, raw 8-bit), the body is taken
as text/plain when there is one and from sanitised HTML otherwise, attachments and inline
images are collected with cleaned names, and machine mail (RFC 3834 auto-submitted, bulk and
list mail, delivery status notifications) is recognised. Nothing here touches the database.
"""

import binascii
import codecs
import mimetypes
import re
import unicodedata
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser
from pathlib import PurePath

MAX_DEPTH = 20
MAX_PARTS = 200
MSGID = re.compile(r"<[^<>\s]{1,250}>")
# An RFC 2047 encoded-word: =?charset[*language]?B|Q?text?=
ENCODED_WORD = re.compile(r"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([bBqQ])\?([^?\s]*)\?=")
# Whitespace between two encoded-words is not part of the text (RFC 2047, section 6.2).
BETWEEN_WORDS = re.compile(r"(?<=\?=)\s+(?==\?[^?\s]+\?[bBqQ]\?)")
BASE64 = re.compile(rb"[A-Za-z0-9+/]*={0,2}")
CONTENT_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")
# Labels mail software puts on text in a wider charset (as browsers know, WHATWG Encoding): the
# first of these that reads the bytes wins; "ascii" text with 8-bit bytes is mostly UTF-8.
WIDER_CHARSETS = {
    "ascii": ("ascii", "utf-8", "cp1252"),
    "iso8859-1": ("cp1252", "iso8859-1"),
    "gb2312": ("gb2312", "gbk", "gb18030"),
    "gbk": ("gbk", "gb18030"),
    "shift_jis": ("shift_jis", "cp932"),
    "euc_kr": ("euc_kr", "cp949"),
    "iso2022_jp": ("iso2022_jp", "iso2022_jp_ext", "iso2022_jp_2"),
    "big5": ("big5", "big5hkscs"),
}
# Codecs Python knows that are no charset a message may declare (escapes, IDNA, placeholders).
NOT_CHARSETS = {"unicode-escape", "raw-unicode-escape", "punycode", "idna", "undefined"}
# Parts that are a signature of the message, not a file the sender attached.
SIGNATURE_TYPES = {
    "application/pgp-signature",
    "application/pkcs7-signature",
    "application/x-pkcs7-signature",
}
AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(out of (the )?office|automatic reply|auto[- ]?reply|abwesenheitsnotiz|"
    r"automatische antwort|absence|réponse automatique|respuesta automática)",
    re.IGNORECASE,
)


class MalformedEmail(ValueError):
    """The bytes are not a message the channel can store as a ticket or a reply."""


class _Lenient(policy.Compat32):
    """compat32, but a header holding raw 8-bit bytes (no RFC 2047) is read as UTF-8, or as
    Windows-1252 when it is not UTF-8, instead of becoming replacement characters."""

    def _sanitize_header(self, name: str, value: object) -> object:
        if isinstance(value, str) and _has_surrogates(value):
            return _decode(value.encode("utf-8", "surrogateescape"), None)
        return value


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


LENIENT = _Lenient()


@dataclass(frozen=True)
class Part:
    filename: str
    content_type: str
    data: bytes
    inline: bool


@dataclass(frozen=True)
class Bounce:
    address: str
    status: str
    diagnostic: str


@dataclass
class ParsedEmail:
    message_id: str
    in_reply_to: list[str]
    references: list[str]
    subject: str
    sender: str
    sender_name: str
    text: str
    html: str
    attachments: list[Part] = field(default_factory=list)
    # Why the message was written by a machine ("" for a person): never acknowledged.
    automatic: str = ""
    auto_reply: bool = False
    bounces: list[Bounce] = field(default_factory=list)
    is_report: bool = False
    meridian_outbound: bool = False
    # Messages forwarded as message/rfc822 parts, each as its headers and text.
    forwarded: list[str] = field(default_factory=list)

    @property
    def thread_ids(self) -> list[str]:
        """Message-IDs this one answers, nearest first."""
        seen: dict[str, None] = {}
        for msgid in [*self.in_reply_to, *reversed(self.references)]:
            seen.setdefault(msgid, None)
        return list(seen)


def header_text(message: Message, name: str) -> str:
    """A header's decoded value ("" when absent or beyond repair), whitespace collapsed."""
    try:
        value = message.get(name)
    except Exception:
        return ""
    if value is None:
        return ""
    return " ".join(decode_words(str(value)).split())


def decode_words(value: str) -> str:
    """`value` with its RFC 2047 encoded-words decoded; a word that cannot be decoded stays as
    it was written, and a word in an unknown charset is read like undeclared 8-bit text."""
    return _clean(ENCODED_WORD.sub(_decode_word, BETWEEN_WORDS.sub("", value)))


def _decode_word(word: re.Match) -> str:
    charset, encoding, text = word.groups()
    data = text.encode("ascii", "replace")
    try:
        if encoding in "bB":
            if not BASE64.fullmatch(data):
                return word.group(0)
            data = binascii.a2b_base64(data + b"=" * (-len(data) % 4))
        else:
            data = binascii.a2b_qp(data, header=True)
    except (binascii.Error, ValueError):
        return word.group(0)
    return _decode(data, charset)


def _sender(message: Message) -> tuple[str, str]:
    """The From header's display name and address. The address is found before the name's
    encoded-words are decoded: decoded, "=?UTF-8?B?TcO8bGxlciwgQW5uYQ==?=" is "Müller, Anna",
    which would read as two addresses."""
    try:
        value = " ".join(_clean(str(message.get("From") or "")).split())
    except Exception:
        return "", ""
    name, address = parseaddr(value)
    if "@" not in address:
        # A From header that parses to nothing may still hold one plain address.
        pairs = [(name, addr) for name, addr in getaddresses([value]) if "@" in addr]
        name, address = pairs[0] if pairs else ("", "")
    return " ".join(decode_words(name).split()), address


def message_ids(value: str) -> list[str]:
    return MSGID.findall(value or "")[:50]


def _codec(charset: str | None) -> str | None:
    """Python's codec for a declared charset; None when absent, unknown or not a charset."""
    name = (charset or "").strip().strip("\"'").lower()
    if not name or "\x00" in name:
        return None
    try:
        codec = codecs.lookup(name).name
    except (LookupError, ValueError, TypeError):
        return None
    try:
        b"a".decode(codec)
    except LookupError:  # a bytes-to-bytes codec such as base64 or zlib
        return None
    except ValueError:  # "a" alone is no text in this charset (UTF-16): still a charset
        pass
    return None if codec in NOT_CHARSETS else codec


def _decode(payload: bytes, charset: str | None) -> str:
    """Text in the declared charset (or a wider one it is commonly mislabelled for); without a
    usable declaration UTF-8, else Windows-1252. Never fails; the text is safe to store."""
    codec = _codec(charset)
    candidates = WIDER_CHARSETS.get(codec, (codec,)) if codec else ("utf-8", "cp1252")
    for candidate in candidates:
        try:
            return _clean(payload.decode(candidate))
        except (UnicodeError, ValueError):
            continue
    return _clean(payload.decode(candidates[0], "replace"))


def _clean(text: str) -> str:
    """No NUL (databases refuse it) and no lone surrogate (UTF-7 and UTF-16 can produce one)."""
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")


class _TextOfHtml(HTMLParser):
    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"}
    SKIP = {"script", "style", "head", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCKS:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.chunks.append(data)


def html_to_text(html: str) -> str:
    """The readable text of an HTML body: paragraphs kept, markup, scripts and styles gone."""
    reader = _TextOfHtml()
    try:
        reader.feed(html)
        reader.close()
    except Exception:
        return ""
    lines = [" ".join(line.split()) for line in "".join(reader.chunks).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def clean_filename(name: str, content_type: str, number: int) -> str:
    """A safe display name: no path, no control characters, a sane length, an extension."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip(" .")
    guessed = mimetypes.guess_extension(content_type) or ".bin"
    if not name:
        name = f"attachment-{number}{guessed}"
    path = PurePath(name)
    stem, suffix = path.stem[:100], path.suffix[:16]
    if not suffix:  # "passwd", say: named after its type
        stem, suffix = name[:100], guessed
    return f"{stem}{suffix}"


def _filename(part: Message) -> str:
    """The part's file name as its sender wrote it: RFC 2231 (even in a charset Python does not
    know) or RFC 2047 (as Outlook and Gmail write it), from Content-Disposition or the older
    Content-Type name; "" when there is none."""
    for header, param in (("content-disposition", "filename"), ("content-type", "name")):
        try:
            value = part.get_param(param, None, header)
        except Exception:
            value = None  # a parameter list beyond repair: try the other header
        if isinstance(value, tuple):  # RFC 2231: (charset, language, the %-decoded bytes)
            charset, _language, text = value
            value = _decode(str(text).encode("raw-unicode-escape"), charset or "utf-8")
        if value:
            return decode_words(str(value))
    return ""


def _content_type(part: Message) -> str:
    try:
        content_type = part.get_content_type()
    except Exception:
        return "application/octet-stream"
    return content_type if CONTENT_TYPE.fullmatch(content_type) else "application/octet-stream"


def _payload(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    return raw.encode("utf-8", "replace") if isinstance(raw, str) else b""


def _bounces(part: Message) -> list[Bounce]:
    """Failed recipients of a message/delivery-status part (RFC 3464)."""
    blocks = part.get_payload()
    if not isinstance(blocks, list):
        return []
    found = []
    for block in blocks[1:]:  # the first block describes the reporting MTA
        if not isinstance(block, Message):
            continue
        action = header_text(block, "Action").lower()
        recipient = header_text(block, "Final-Recipient") or header_text(
            block, "Original-Recipient"
        )
        address = recipient.split(";", 1)[-1].strip().strip("<>").lower()
        if action == "failed" and "@" in address:
            found.append(
                Bounce(
                    address=address[:254],
                    status=header_text(block, "Status")[:32],
                    diagnostic=header_text(block, "Diagnostic-Code")[:200],
                )
            )
    return found


def _automatic(message: Message) -> tuple[str, bool]:
    """Why a machine wrote this ("" for a person), and whether it is an auto-reply."""
    auto_submitted = header_text(message, "Auto-Submitted").lower()
    subject = header_text(message, "Subject")
    auto_reply = (
        auto_submitted.startswith("auto-replied")
        or bool(header_text(message, "X-Autoreply") or header_text(message, "X-Autorespond"))
        or bool(AUTO_REPLY_SUBJECT.match(subject))
    )
    precedence = header_text(message, "Precedence").lower()
    return_path = header_text(message, "Return-Path")
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted[:40]}", auto_reply
    if precedence in {"bulk", "junk", "list", "auto_reply"}:
        return f"Precedence: {precedence}", auto_reply
    if header_text(message, "List-Id"):
        return "mailing list (List-Id)", auto_reply
    if header_text(message, "X-Auto-Response-Suppress"):
        return "X-Auto-Response-Suppress", auto_reply
    if auto_reply:
        return "automatic reply", True
    if return_path == "<>":
        return "null return path", auto_reply
    return "", False


def parse_email(raw: bytes) -> ParsedEmail:
    """Read a message; `MalformedEmail` when it is not one Meridian can store."""
    if not raw.strip():
        raise MalformedEmail("the message is empty")
    try:
        message = BytesParser(policy=LENIENT).parsebytes(raw)
    except RecursionError:
        raise MalformedEmail("the message nests too deeply") from None
    if not message.keys():
        raise MalformedEmail("the message has no headers")
    sender_name, sender = _sender(message)
    parsed = ParsedEmail(
        message_id=(message_ids(header_text(message, "Message-ID")) or [""])[0],
        in_reply_to=message_ids(header_text(message, "In-Reply-To")),
        references=message_ids(header_text(message, "References")),
        subject=header_text(message, "Subject")[:255],
        sender=sender.strip().lower()[:254],
        sender_name=sender_name.strip()[:150],
        text="",
        html="",
        meridian_outbound=bool(header_text(message, "X-Meridian-Outbound")),
    )
    parsed.automatic, parsed.auto_reply = _automatic(message)
    _walk(message, parsed, depth=0, counter=[0])
    if parsed.is_report and not parsed.automatic:
        parsed.automatic = "delivery status notification"
    parsed.text = _full_text(parsed)
    return parsed


def _full_text(parsed: ParsedEmail) -> str:
    """The body's text (from its HTML when it has no text part), then what it forwards."""
    text = parsed.text or html_to_text(parsed.html)
    return "\n\n".join(block for block in (text.rstrip(), *parsed.forwarded) if block)


def _walk(
    part: Message, parsed: ParsedEmail, *, depth: int, counter: list[int], forwarded: bool = False
) -> None:
    """Collect the body, attachments and bounces of `part`. In a forwarded message
    (`forwarded`) reports are not recognised: they are not about this sender's mail."""
    counter[0] += 1
    if depth > MAX_DEPTH or counter[0] > MAX_PARTS:
        raise MalformedEmail("the message nests too deeply or has too many parts")
    content_type = _content_type(part)
    if content_type == "multipart/report" and not forwarded:
        parsed.is_report = True
    if content_type == "message/delivery-status":
        if not forwarded:
            parsed.bounces.extend(_bounces(part))
        return
    if content_type == "message/rfc822" and part.is_multipart():
        _forward(part, parsed, depth=depth, counter=counter)
        return
    if part.is_multipart():
        children = part.get_payload()
        if isinstance(children, list):
            for child in children:
                if isinstance(child, Message):
                    _walk(child, parsed, depth=depth + 1, counter=counter, forwarded=forwarded)
        return
    if content_type in SIGNATURE_TYPES:
        return
    try:
        disposition = part.get_content_disposition()
    except Exception:
        disposition = None
    filename = _filename(part)
    is_body = disposition != "attachment" and not filename
    if is_body and content_type == "text/plain" and not parsed.text:
        parsed.text = _decode(_payload(part), part.get_content_charset(None))
        return
    if is_body and content_type == "text/html" and not parsed.html:
        parsed.html = _decode(_payload(part), part.get_content_charset(None))
        return
    if is_body and content_type.startswith("text/"):
        return  # further alternatives of the body
    data = _payload(part)
    if not data:
        return
    inline = disposition == "inline" or bool(part.get("Content-ID"))
    parsed.attachments.append(
        Part(
            filename=clean_filename(filename, content_type, len(parsed.attachments) + 1),
            content_type=content_type[:127],
            data=data,
            inline=inline,
        )
    )


def _forward(part: Message, parsed: ParsedEmail, *, depth: int, counter: list[int]) -> None:
    """A forwarded message (message/rfc822): its headers and text follow the body, as a client
    forwarding inline writes them, and its files are attachments of this message."""
    inner = part.get_payload(0)
    if not isinstance(inner, Message):
        return
    found = ParsedEmail(
        message_id="",
        in_reply_to=[],
        references=[],
        subject="",
        sender="",
        sender_name="",
        text="",
        html="",
    )
    _walk(inner, found, depth=depth + 1, counter=counter, forwarded=True)
    for attachment in found.attachments:
        number = len(parsed.attachments) + 1
        parsed.attachments.append(
            Part(
                filename=clean_filename(attachment.filename, attachment.content_type, number),
                content_type=attachment.content_type,
                data=attachment.data,
                inline=attachment.inline,
            )
        )
    headers = [
        f"{name}: {value}"
        for name in ("From", "Date", "Subject", "To")
        if (value := header_text(inner, name))
    ]
    block = "\n".join(["---------- Forwarded message ----------", *headers])
    text = _full_text(found)
    parsed.forwarded.append(f"{block}\n\n{text}" if text else block)
