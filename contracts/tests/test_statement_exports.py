import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import openpyxl
import pytest
from pypdf import PdfReader

from contracts.models import ComplianceStatement
from contracts.statements import chart
from contracts.statements.exports import EXPORT_FORMATS, export_statement
from contracts.statements.selectors import compliance_history

LINE = {
    "priority": "p1",
    "clock": "first_response",
    "in_scope": 12,
    "met": 11,
    "breached": 1,
    "compliance_percent": "91.67",
    "median_minutes": 4.5,
    "p90_minutes": 9.0,
}
BREACH = {
    "reference": "MRD-000123",
    "priority": "p1",
    "clock": "first_response",
    "due_at": "2026-10-03T08:10:00+00:00",
    "met_at": None,
    "overrun_minutes": 15.0,
}
COVER = {
    "reference": "CT-ACME-2",
    "tier": "Enterprise",
    "starts_on": "2026-10-15",
    "ends_on": None,
    "days": 17,
    "days_in_month": 31,
    "monthly_fee": "12000.00",
    "prorated_fee": "6580.65",
    "band_below_percent": "95.00",
    "band_credit_percent": "10.00",
    "band_credit": "658.07",
    "p1_breaches": 1,
    "p1_credit": "240.00",
    "cap": "3290.33",
    "credit": "898.07",
}


def issued(organisation, month=date(2026, 10, 1), **extra) -> ComplianceStatement:
    fields = {
        "organisation": organisation,
        "month": month,
        "status": "issued",
        "time_zone": "Europe/Berlin",
        "lines": [LINE],
        "breaches": [BREACH],
        "coverage": [COVER],
        "in_scope": 12,
        "met": 11,
        "breached": 1,
        "objective": Decimal("95.00"),
        "compliance_percent": Decimal("91.67"),
        "credit_amount": Decimal("898.07"),
        "currency": "EUR",
        "content_hash": "a" * 64,
        "generated_at": datetime(2026, 11, 1, 1, 0, tzinfo=UTC),
        "issued_at": datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
        **extra,
    }
    return ComplianceStatement.objects.create(**fields)


def csv_rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_csv_carries_the_stored_figures_in_the_statement_zone(org_a):
    statement = issued(org_a)
    exported = export_statement(statement=statement, fmt="csv")
    assert exported.filename == "meridian-statement-acme-2026-10-r1.csv"
    rows = csv_rows(exported.body)
    assert ["Organisation", "Acme Streaming"] in rows
    assert ["Issued at", "2026-11-02T10:30:00+01:00"] in rows
    assert ["Compliance %", "91.67"] in rows
    assert ["P1", "First response", "12", "11", "1", "91.67", "4.5", "9.0"] in rows
    assert [
        "MRD-000123",
        "P1",
        "First response",
        "2026-10-03T10:10:00+02:00",
        "still open",
        "15.0",
    ] in rows
    assert rows[-1][0] == "CT-ACME-2" and rows[-1][-1] == "898.07"


def test_csv_of_an_issued_statement_is_byte_identical(org_a):
    statement = issued(org_a)
    first = export_statement(statement=statement, fmt="csv").body
    again = export_statement(statement=statement, fmt="csv").body
    reloaded = ComplianceStatement.objects.get(pk=statement.pk)
    assert first == again == export_statement(statement=reloaded, fmt="csv").body


def test_spreadsheet_text_that_would_be_a_formula_is_neutralised(org_a):
    org_a.name = '=HYPERLINK("x")'
    org_a.save()
    statement = issued(
        org_a,
        revision=2,
        reason="@correction",
        breaches=[{**BREACH, "reference": "+MRD-1"}, {**BREACH, "reference": "-MRD-2"}],
    )
    rows = csv_rows(export_statement(statement=statement, fmt="csv").body)
    assert ["Organisation", '\'=HYPERLINK("x")'] in rows
    assert ["Reason for the revision", "'@correction"] in rows
    assert {"'+MRD-1", "'-MRD-2"} <= {row[0] for row in rows if row}
    book = openpyxl.load_workbook(
        io.BytesIO(export_statement(statement=statement, fmt="xlsx").body)
    )
    summary = {row[0]: row[1] for row in book["summary"].iter_rows(values_only=True)}
    assert summary["Organisation"] == '\'=HYPERLINK("x")'
    assert [r[0] for r in book["breaches"].iter_rows(min_row=2, values_only=True)] == [
        "'+MRD-1",
        "'-MRD-2",
    ]


def test_workbook_keeps_numbers_as_numbers(org_a):
    statement = issued(org_a)
    book = openpyxl.load_workbook(
        io.BytesIO(export_statement(statement=statement, fmt="xlsx").body)
    )
    assert book.sheetnames == ["summary", "lines", "breaches", "coverage"]
    line = next(book["lines"].iter_rows(min_row=2, values_only=True))
    assert line == ("P1", "First response", 12, 11, 1, 91.67, 4.5, 9)
    cover = next(book["coverage"].iter_rows(min_row=2, values_only=True))
    assert cover[-1] == pytest.approx(898.07)


def test_pdf_has_the_figures_and_the_chart_and_survives_other_scripts(org_a):
    org_a.name = "Zoë 東京"
    org_a.save()
    issued(org_a, month=date(2026, 8, 1))
    statement = issued(org_a)
    body = export_statement(statement=statement, fmt="pdf").body
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
    assert "Zoë ??" in text
    assert "MRD-000123" in text and "898.07" in text and "91.67" in text
    assert "Compliance per priority, last 12 months" in text
    assert "2025-11" in text and "2026-10" in text


def test_unknown_format_is_refused(org_a):
    with pytest.raises(ValueError, match="unknown export format"):
        export_statement(statement=issued(org_a), fmt="docx")
    assert EXPORT_FORMATS == ("csv", "xlsx", "pdf")


def test_history_reads_the_latest_issued_revision_and_leaves_gaps(org_a):
    issued(org_a, month=date(2026, 9, 1))
    issued(
        org_a,
        month=date(2026, 9, 1),
        revision=2,
        reason="fix",
        lines=[{**LINE, "met": 12, "breached": 0}],
    )
    history = compliance_history(organisation=org_a, month=date(2026, 10, 1), months=3)
    assert [h.month for h in history] == [date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1)]
    assert history[0].revision is None and history[2].revision is None
    assert history[1].by_priority == {"p1": Decimal("100.00")}


def test_chart_maths():
    assert chart.months_ending(date(2026, 1, 1), 2) == [date(2025, 12, 1), date(2026, 1, 1)]
    assert chart.percent_axis([96.5, 99.0]).ticks[0] == 90.0
    assert chart.scale(120.0, domain=(90.0, 100.0), span=(100.0, 20.0)) == 20.0
    assert chart.percent(2, 3) == Decimal("66.67")
