"""The CSV and the workbook of a statement: its tables, numbers as numbers, text neutralised."""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from contracts.models import ComplianceStatement
from contracts.statements.exports.content import Cell, Table, spreadsheet_text, statement_tables


def csv_text(cell: Cell) -> str:
    """A cell as CSV text. Numbers keep their stored form (`Decimal('91.67')` is `91.67`, a
    float `9.0` is `9.0`), never the locale's, so the bytes depend on the row alone."""
    if cell is None:
        return ""
    if isinstance(cell, str):
        return spreadsheet_text(cell)
    return str(cell)


def statement_csv(statement: ComplianceStatement) -> bytes:
    """One CSV with a section per table (its title, its headings, its rows), separated by an
    empty row. UTF-8 with a byte-order mark, which is how Excel recognises UTF-8."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    for index, table in enumerate(statement_tables(statement)):
        if index:
            writer.writerow([])
        writer.writerow([csv_text(table.title)])
        writer.writerow([csv_text(h) for h in table.headings])
        writer.writerows([csv_text(cell) for cell in row] for row in table.rows)
    return out.getvalue().encode("utf-8-sig")


def xlsx_value(cell: Cell) -> str | int | float | Decimal | None:
    if isinstance(cell, str):
        # Control characters are not allowed in the file format (openpyxl refuses them).
        return spreadsheet_text(ILLEGAL_CHARACTERS_RE.sub("", cell))
    return cell


def statement_xlsx(statement: ComplianceStatement) -> bytes:
    """A workbook with a sheet per table, headings in bold on the first row."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for table in statement_tables(statement):
        _add_sheet(workbook, table)
    # The document's dates are the statement's, not the export's.
    stamp = _naive_utc(statement.issued_at or statement.generated_at)
    workbook.properties.created = stamp
    workbook.properties.modified = stamp
    workbook.properties.title = spreadsheet_text(str(statement))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _add_sheet(workbook: Workbook, table: Table) -> None:
    # Sheet titles: at most 31 characters, none of []:*?/\ ; ours are the fixed table keys.
    sheet = workbook.create_sheet(title=table.key)
    sheet.append([xlsx_value(h) for h in table.headings])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in table.rows:
        sheet.append([xlsx_value(cell) for cell in row])
    for cell in (c for row in sheet.iter_rows() for c in row):
        # Text that looks like a formula stays text whatever openpyxl guesses.
        if isinstance(cell.value, str):
            cell.data_type = "s"
    sheet.freeze_panes = "A2"
    for column in sheet.columns:
        width = max(len(str(c.value)) if c.value is not None else 0 for c in column)
        sheet.column_dimensions[column[0].column_letter].width = min(60, max(10, width + 2))


def _naive_utc(moment: datetime) -> datetime:
    # The workbook's properties are written as UTC without an offset.
    return moment.astimezone(UTC).replace(tzinfo=None)
