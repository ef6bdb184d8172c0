"""Validating and writing the rows a page sends: a record, and the inline rows that belong to
it. The apps' save services use these; each refusal is the app's own type."""

from collections.abc import Sequence
from typing import TypeVar

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.db.models import Model, ProtectedError
from django.utils.translation import gettext as _

from portal.errors import Refusal

Row = TypeVar("Row", bound=Model)


def rows_check(
    rows: Sequence[Model], *, refusal: type[Refusal] = Refusal, exclude: Sequence[str] = ()
) -> None:
    """Validate rows about to be written (`full_clean`): the first invalid one is refused with
    its messages, on its field when only one field is at fault."""
    for row in rows:
        try:
            row.full_clean(exclude=list(exclude) or None)
        except ValidationError as exc:
            fields = [name for name in getattr(exc, "error_dict", {}) if name != NON_FIELD_ERRORS]
            field = fields[0] if len(fields) == 1 and len(exc.error_dict) == 1 else None
            raise refusal("; ".join(exc.messages), field=field) from exc


def row_save(row: Row, *, refusal: type[Refusal] = Refusal) -> Row:
    """One validated row, written in a transaction of its own."""
    rows_check([row], refusal=refusal)
    with transaction.atomic(durable=True):
        row.save()
    return row


def inline_rows_write(
    parent: Model,
    *,
    parent_field: str,
    saved: Sequence[Model],
    deleted: Sequence[Model],
    refusal: type[Refusal] = Refusal,
) -> None:
    """The inline rows of a page: validated once their parent has its key, written, and the
    removed ones deleted (refused while anything still points at them). Call inside the
    caller's transaction, after saving the parent."""
    for row in saved:
        setattr(row, parent_field, parent)
    rows_check(saved, refusal=refusal)
    for row in saved:
        row.save()
    for row in deleted:
        try:
            row.delete()
        except ProtectedError as exc:
            raise refusal(
                _("%(row)s is still in use and cannot be removed.") % {"row": row}
            ) from exc
