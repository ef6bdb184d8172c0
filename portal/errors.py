"""The one exception type for a request that Meridian's rules refuse.

Every app raises a subclass (`tickets.services.TicketError`, `contracts.services.ContractError`,
…), so that the API, the portal's forms and the support desk handle every refusal the same way
without knowing the apps: the message is a sentence for the person who asked, `field` names the
input it is about (when one is), and `status`/`code` say how the API answers it.
"""

from collections.abc import Sequence

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import Model


class Refusal(Exception):
    """A request the rules refuse; `str(refusal)` says why, for the person who asked."""

    status: int = 400
    code: str = "invalid"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def rows_check(
    rows: Sequence[Model], *, refusal: type[Refusal] = Refusal, exclude: Sequence[str] = ()
) -> None:
    """Validate rows a service is about to write (`full_clean`): the first invalid one is
    refused with its messages, on its field when only one field is at fault."""
    for row in rows:
        try:
            row.full_clean(exclude=list(exclude) or None)
        except ValidationError as exc:
            fields = [name for name in getattr(exc, "error_dict", {}) if name != NON_FIELD_ERRORS]
            field = fields[0] if len(fields) == 1 and len(exc.error_dict) == 1 else None
            raise refusal("; ".join(exc.messages), field=field) from exc
