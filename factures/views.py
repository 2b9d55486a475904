import datetime
from functools import lru_cache

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import formats
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from factures.models import Attendance, Invoice
from factures.pdf import invoice_pdf
from factures.periods import month_weeks
from factures.sql import AttendedDays
from familles.access import family_required
from familles.models import Family
from portail.documents import document_extras
from portail.pages import page_of


def _family_invoice(family: Family, pk: int) -> Invoice:
    # Another family's invoice is a 404, never a 403: its existence is not ours
    # to reveal.
    return get_object_or_404(Invoice.objects.with_amounts(), pk=pk, family_id=family.pk)


@family_required
def invoice_list(request: HttpRequest, *, family: Family) -> HttpResponse:
    invoices = page_of(
        request, family.invoices.with_amounts().order_by("-period", "-number")
    )
    return render(
        request,
        "factures/invoice_list.html",
        {"invoices": invoices, "family": family},
    )


def _calendar_row(
    week: list[datetime.date | None],
    days: dict[datetime.date, list[tuple[str, str]]],
    month: str,
) -> SafeString:
    """One week of a child's calendar: `<td>` cells, empty outside the month.
    A day billed shows the marks of its activities ("R G"); a screen reader
    hears the day, the month and the activities ("3 octobre : Restauration
    scolaire, Garderie du soir")."""
    cells = []
    for day in week:
        if not day:
            cells.append(mark_safe("<td></td>"))  # noqa: S308 - a constant
        elif day in days:
            activities = days[day]
            cells.append(
                format_html(
                    '<td class="present"><span aria-hidden="true">{}'
                    '<span class="marks">{}</span></span>'
                    '<span class="visually-hidden">{} {}\u00a0: {}</span></td>',
                    day.day,
                    " ".join(mark for mark, _label in activities),
                    day.day,
                    month,
                    ", ".join(label for _mark, label in activities),
                )
            )
        else:
            cells.append(format_html("<td>{}</td>", day.day))
    return mark_safe("".join(cells))  # noqa: S308 - each cell is escaped above


def _marks(activities: list[tuple[int, str]]) -> dict[int, tuple[str, str]]:
    """A letter for each activity billed ("R" Restauration scolaire, "G"
    Garderie du soir), its label's first letter, then a number if taken."""
    marks: dict[int, tuple[str, str]] = {}
    for pk, label in activities:
        letter = (label[:1] or "?").upper()
        if letter in {mark for mark, _label in marks.values()}:
            letter = str(len(marks) + 1)
        marks[pk] = (letter, label)
    return marks


@lru_cache(maxsize=8)
def _weekday_header(language: str) -> SafeString:
    """The calendar's head row, written once per process and language (in
    the template it was fourteen translations a child)."""
    days = [
        (_("Monday"), _("Mon")),
        (_("Tuesday"), _("Tue")),
        (_("Wednesday"), _("Wed")),
        (_("Thursday"), _("Thu")),
        (_("Friday"), _("Fri")),
        (_("Saturday"), _("Sat")),
        (_("Sunday"), _("Sun")),
    ]
    return format_html_join("", '<th scope="col" abbr="{}">{}</th>', days)


@family_required
def invoice_detail(request: HttpRequest, pk: int, *, family: Family) -> HttpResponse:
    invoice = _family_invoice(family, pk)
    # Names and labels are copied on the line; the days it bills come with it.
    lines = list(
        invoice.lines.select_related("activity").annotate(
            days=AttendedDays(Attendance, invoice.period)
        )
    )
    marks = _marks(
        [(line.activity_id, line.activity.label) for line in lines if line.days]
    )
    attended: dict[int, dict[datetime.date, list[tuple[str, str]]]] = {}
    for line in lines:
        for billed in line.days.split(",") if line.days else []:
            day = datetime.date.fromisoformat(billed)
            activities = attended.setdefault(line.child_id, {}).setdefault(day, [])
            if marks[line.activity_id] not in activities:
                activities.append(marks[line.activity_id])
    children = []
    seen = set()
    weeks = month_weeks(invoice.period)
    month = formats.date_format(invoice.period, "F")
    for line in lines:
        if line.child_id in seen:
            continue
        seen.add(line.child_id)
        days = attended.get(line.child_id, {})
        # The calendar's rows are written here, not by the template: its 70
        # cells a child were most of the page's rendering.
        children.append(
            {
                "name": line.child_name,
                "count": len(days),
                "weeks": [_calendar_row(week, days, month) for week in weeks],
            }
        )
    return render(
        request,
        "factures/invoice_detail.html",
        {
            "invoice": invoice,
            "lines": lines,
            "credit_notes": invoice.credit_notes_to_show(),
            "children": children,
            "legend": sorted(marks.values()),
            "weekday_header": _weekday_header(get_language()),
            **document_extras(),
        },
    )


@family_required
def invoice_download(request: HttpRequest, pk: int, *, family: Family) -> HttpResponse:
    invoice = _family_invoice(family, pk)
    response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="facture-{invoice.number}.pdf"'
    )
    return response
