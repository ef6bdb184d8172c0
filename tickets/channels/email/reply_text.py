"""The new text of a reply: quoted history and signatures stripped, in many languages."""

import functools
import re

from django.conf import settings
from mailparser_reply import EmailReplyParser

# RFC 3676's signature delimiter: "-- " alone on a line (some clients drop the space).
SIGNATURE = re.compile(r"^--[ \t]?$", re.MULTILINE)
QUOTED = re.compile(r"^>.*$", re.MULTILINE)


@functools.cache
def _parser(languages: tuple[str, ...]) -> EmailReplyParser:
    return EmailReplyParser(languages=list(languages))


def reply_text(text: str) -> str:
    """What the sender wrote above the quote, without their signature; the whole text when
    nothing would remain (a message that is only a quote is still what they sent)."""
    if not text.strip():
        return ""
    # What follows the first quoted line is history whatever it holds, and the parser's cost
    # grows with the text (a dozen languages' patterns per line): it reads up to that line.
    quoted = QUOTED.search(text)
    head = text[: quoted.end()] if quoted else text
    try:
        latest = _parser(tuple(settings.EMAIL_REPLY_LANGUAGES)).parse_reply(text=head)
    except Exception:
        return text.strip()
    latest = SIGNATURE.split(latest or "", maxsplit=1)[0]
    return latest.strip() or text.strip()
