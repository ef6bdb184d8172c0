"""Exports of a compliance statement as CSV, a workbook (XLSX) and a PDF (`docs/statements.md`,
"Exports").

    export_statement(statement=statement, fmt="csv") -> ExportFile

Built from the stored row (the PDF's chart also reads the months before it), in the active
language; instants in the statement's own time zone.
"""

from collections.abc import Callable
from dataclasses import dataclass

from contracts.models import ComplianceStatement
from contracts.statements.exports.content import month_label
from contracts.statements.exports.pdf import statement_pdf
from contracts.statements.exports.spreadsheet import statement_csv, statement_xlsx

EXPORT_FORMATS = ("csv", "xlsx", "pdf")

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}

WRITERS: dict[str, Callable[[ComplianceStatement], bytes]] = {
    "csv": statement_csv,
    "xlsx": statement_xlsx,
    "pdf": statement_pdf,
}


@dataclass(frozen=True)
class ExportFile:
    filename: str
    content_type: str
    body: bytes


def export_statement(*, statement: ComplianceStatement, fmt: str) -> ExportFile:
    """The statement as a file of format `fmt` (one of `EXPORT_FORMATS`); ValueError for any
    other."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; one of {', '.join(EXPORT_FORMATS)}")
    return ExportFile(
        filename=export_filename(statement=statement, fmt=fmt),
        content_type=CONTENT_TYPES[fmt],
        body=WRITERS[fmt](statement),
    )


def export_filename(*, statement: ComplianceStatement, fmt: str) -> str:
    """`meridian-statement-<org slug>-2026-10-r1.csv`; a draft says so (`…-r1-draft.csv`), so
    that a draft is never filed as what the customer is owed."""
    draft = "-draft" if statement.status == ComplianceStatement.Status.DRAFT else ""
    slug, month = statement.organisation.slug, month_label(statement.month)
    return f"meridian-statement-{slug}-{month}-r{statement.revision}{draft}.{fmt}"
