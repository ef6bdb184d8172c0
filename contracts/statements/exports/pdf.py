"""The PDF of a statement: the same tables as the CSV and the workbook, then a chart of the
last twelve months' compliance per priority, drawn with fpdf2's own lines and rectangles.

Core fonts only (nothing is fetched or embedded), so the text is Latin-1: anything else is
replaced (`pdf_text`) rather than failing the export of a customer named "Zoë 東京".
"""

from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _
from fpdf import FPDF
from fpdf.fonts import FontFace

from contracts.models import ComplianceStatement
from contracts.statements.chart import Axis, percent_axis, scale
from contracts.statements.exports.content import (
    Cell,
    Table,
    month_label,
    priority_label,
    statement_tables,
)
from contracts.statements.selectors import MonthCompliance, compliance_history

FONT = "Helvetica"
# What core fonts cannot show but has a plain Latin-1 stand-in.
PLAIN = str.maketrans(
    {"–": "-", "—": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "…": "...", "€": "EUR"}
)
# One colour per priority (RGB), the most urgent the warmest.
SERIES_COLOURS = {
    "p1": (200, 40, 40),
    "p2": (230, 140, 20),
    "p3": (40, 90, 200),
    "p4": (40, 150, 80),
}
OTHER_COLOUR = (90, 90, 90)
OBJECTIVE_COLOUR = (120, 120, 120)
HISTORY_MONTHS = 12


def pdf_text(text: str) -> str:
    """Text the core fonts can draw: Latin-1, with anything else replaced by `?`."""
    return text.translate(PLAIN).encode("latin-1", errors="replace").decode("latin-1")


def pdf_cell(cell: Cell) -> str:
    if cell is None:
        return "-"
    return pdf_text(cell if isinstance(cell, str) else str(cell))


class StatementPDF(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="landscape", unit="mm", format="A4")
        self.footer_text = footer_text

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=7)
        self.set_text_color(110, 110, 110)
        page = _("Page %(page)s of %(pages)s") % {"page": self.page_no(), "pages": "{nb}"}
        self.cell(0, 5, pdf_text(f"{self.footer_text}  |  {page}"), align="C")
        self.set_text_color(0, 0, 0)


def statement_pdf(statement: ComplianceStatement) -> bytes:
    title = _("SLA compliance statement")
    organisation = statement.organisation.name
    heading = f"{organisation} {month_label(statement.month)} r{statement.revision}"
    pdf = StatementPDF(footer_text=pdf_text(f"{title}: {heading}"))
    pdf.set_title(pdf_text(f"{title}: {heading}"))
    pdf.set_creator("Meridian")
    # The document's date is the statement's, not the export's.
    pdf.set_creation_date(statement.issued_at or statement.generated_at)
    pdf.set_auto_page_break(auto=True, margin=16)
    pdf.add_page()
    pdf.set_font(FONT, style="B", size=16)
    pdf.cell(0, 9, pdf_text(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, size=11)
    pdf.cell(0, 7, pdf_text(heading), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    for table in statement_tables(statement):
        _table(pdf, table)
    history = compliance_history(
        organisation=statement.organisation,
        month=statement.month,
        months=HISTORY_MONTHS,
        including=statement,
    )
    _chart_page(pdf, history)
    return bytes(pdf.output())


def _table(pdf: FPDF, table: Table) -> None:
    pdf.set_font(FONT, style="B", size=11)
    pdf.cell(0, 8, pdf_text(table.title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, size=7 if len(table.headings) > 8 else 8)
    if not table.rows:
        pdf.cell(0, 6, pdf_text(_("None.")), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
        return
    texts = [[pdf_text(h) for h in table.headings]] + [
        [pdf_cell(c) for c in row] for row in table.rows
    ]
    # Each column as wide as its widest cell, headings counted word by word (they may wrap).
    widths = [
        max(
            max(pdf.get_string_width(w) for w in texts[0][i].split() or [""]),
            *(pdf.get_string_width(row[i]) for row in texts[1:]),
        )
        + 4
        for i in range(len(texts[0]))
    ]
    numeric = [
        all(isinstance(row[i], int | float | Decimal) or row[i] is None for row in table.rows)
        for i in range(len(table.headings))
    ]
    total = sum(widths)
    available = pdf.epw
    with pdf.table(
        width=min(total, available),
        col_widths=tuple(widths),
        text_align=tuple("RIGHT" if n else "LEFT" for n in numeric),
        first_row_as_headings=True,
        headings_style=FontFace(emphasis="BOLD", fill_color=(230, 230, 230)),
        line_height=4.5,
        align="LEFT",
    ) as rows:
        for values in texts:
            row = rows.row()
            for value in values:
                row.cell(value)
    pdf.ln(4)


@dataclass(frozen=True)
class Plot:
    """The plot area on the page, in millimetres."""

    left: float
    top: float
    width: float
    height: float

    @property
    def bottom(self) -> float:
        return self.top + self.height

    def x(self, index: int, count: int) -> float:
        # Each month is the middle of its own slot.
        return self.left + (index + 0.5) * self.width / count

    def y(self, value: float, axis: Axis) -> float:
        return scale(value, domain=(axis.low, axis.high), span=(self.bottom, self.top))


def _chart_page(pdf: FPDF, history: list[MonthCompliance]) -> None:
    pdf.add_page()
    pdf.set_font(FONT, style="B", size=14)
    title = _("Compliance per priority, last %(count)d months") % {"count": len(history)}
    pdf.cell(0, 9, pdf_text(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, size=8)
    pdf.cell(
        0,
        5,
        pdf_text(_("From the latest issued revision of each month; a gap is a month without one.")),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    priorities = sorted({p for month in history for p in month.by_priority})
    values = [float(v) for m in history for v in m.by_priority.values() if v is not None]
    objectives = [float(m.objective) for m in history if m.objective is not None]
    axis = percent_axis(values + objectives)
    plot = Plot(left=pdf.l_margin + 14, top=pdf.get_y() + 6, width=pdf.epw - 20, height=110)
    _axes(pdf, plot, axis, history)
    _objective(pdf, plot, axis, history)
    for priority in priorities:
        _series(pdf, plot, axis, history, priority)
    _legend(pdf, plot, priorities, has_objective=bool(objectives))


def _axes(pdf: FPDF, plot: Plot, axis: Axis, history: list[MonthCompliance]) -> None:
    pdf.set_line_width(0.1)
    pdf.set_font(FONT, size=7)
    for tick in axis.ticks:
        y = plot.y(tick, axis)
        pdf.set_draw_color(220, 220, 220)
        pdf.line(plot.left, y, plot.left + plot.width, y)
        label = f"{tick:g} %"
        pdf.text(plot.left - 2 - pdf.get_string_width(label), y + 1.2, label)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.3)
    pdf.line(plot.left, plot.top, plot.left, plot.bottom)
    pdf.line(plot.left, plot.bottom, plot.left + plot.width, plot.bottom)
    for index, month in enumerate(history):
        x = plot.x(index, len(history))
        pdf.line(x, plot.bottom, x, plot.bottom + 1.2)
        label = month_label(month.month)
        pdf.text(x - pdf.get_string_width(label) / 2, plot.bottom + 5, label)
    pdf.set_font(FONT, size=8)
    pdf.text(plot.left - 12, plot.top - 3, pdf_text(_("Compliance %")))


def _objective(pdf: FPDF, plot: Plot, axis: Axis, history: list[MonthCompliance]) -> None:
    """The objective as a dashed step per month (a new contract may change it)."""
    pdf.set_draw_color(*OBJECTIVE_COLOUR)
    pdf.set_line_width(0.4)
    pdf.set_dash_pattern(dash=1.5, gap=1.2)
    slot = plot.width / len(history)
    for index, month in enumerate(history):
        if month.objective is None:
            continue
        y = plot.y(float(month.objective), axis)
        x = plot.x(index, len(history))
        pdf.line(x - slot / 2, y, x + slot / 2, y)
    pdf.set_dash_pattern()


def _series(
    pdf: FPDF, plot: Plot, axis: Axis, history: list[MonthCompliance], priority: str
) -> None:
    colour = SERIES_COLOURS.get(priority, OTHER_COLOUR)
    pdf.set_draw_color(*colour)
    pdf.set_fill_color(*colour)
    pdf.set_line_width(0.6)
    previous: tuple[float, float] | None = None
    for index, month in enumerate(history):
        value = month.by_priority.get(priority)
        if value is None:
            # A gap: no statement, or nothing of this priority in scope; the line breaks.
            previous = None
            continue
        point = (plot.x(index, len(history)), plot.y(float(value), axis))
        if previous is not None:
            pdf.line(*previous, *point)
        pdf.rect(point[0] - 0.9, point[1] - 0.9, 1.8, 1.8, style="F")
        previous = point


def _legend(pdf: FPDF, plot: Plot, priorities: list[str], *, has_objective: bool) -> None:
    pdf.set_font(FONT, size=8)
    x, y = plot.left, plot.bottom + 12
    if not priorities:
        pdf.text(x, y + 2, pdf_text(_("No issued statement in these months.")))
    for priority in priorities:
        pdf.set_fill_color(*SERIES_COLOURS.get(priority, OTHER_COLOUR))
        pdf.rect(x, y, 6, 2.5, style="F")
        label = priority_label(priority)
        pdf.text(x + 8, y + 2.3, label)
        x += 12 + pdf.get_string_width(label)
    if has_objective:
        pdf.set_draw_color(*OBJECTIVE_COLOUR)
        pdf.set_line_width(0.4)
        pdf.set_dash_pattern(dash=1.5, gap=1.2)
        pdf.line(x, y + 1.25, x + 6, y + 1.25)
        pdf.set_dash_pattern()
        pdf.text(x + 8, y + 2.3, pdf_text(_("Objective")))
