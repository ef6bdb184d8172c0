"""Months as people and the API write them: `YYYY-MM`."""

import re
from datetime import date

from django.utils.translation import gettext as _

from portal.errors import Refusal

_MONTH = re.compile(r"(\d{4})-(\d{2})")


def parse_month(value: str) -> date:
    """The first day of the month `value` names (`2026-10`); a `Refusal` naming `month`
    for anything else.

    >>> parse_month("2026-10")
    datetime.date(2026, 10, 1)
    """
    match = _MONTH.fullmatch(value.strip())
    if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1:
        raise Refusal(
            _("Give a month as YYYY-MM, for example 2026-10 (not %(value)r).")
            % {"value": value[:20]},
            field="month",
        )
    return date(int(match.group(1)), int(match.group(2)), 1)
