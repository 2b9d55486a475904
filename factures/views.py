from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import formats
from django.utils.translation import gettext as _

from factures.models import Attendance, Invoice
from factures.pdf import invoice_pdf
from factures.periods import month_end, month_weeks
from familles.access import family_required
from familles.models import Family
from paiements.rules import payment_rules


def _family_invoice(family: Family, pk: int) -> Invoice:
    # Another family's invoice is a 404, never a 403: its existence is not ours
    # to reveal.
    return get_object_or_404(Invoice.objects.with_amounts(), pk=pk, family=family)


@family_required
def invoice_list(request: HttpRequest, *, family: Family) -> HttpResponse:
    invoices = family.invoices.with_amounts().order_by("-period", "-number")
    return render(request, "factures/invoice_list.html", {"invoices": invoices})


@family_required
def invoice_detail(request: HttpRequest, pk: int, *, family: Family) -> HttpResponse:
    invoice = _family_invoice(family, pk)
    lines = list(invoice.lines.all())  # names and labels are copied on the line
    attended: dict[int, set] = {}
    # Found by child, activity and date (the index attendance_once_a_day):
    # the link to the line has no index of its own.
    for child_id, day in (
        Attendance.objects.filter(
            child_id__in={line.child_id for line in lines},
            activity_id__in={line.activity_id for line in lines},
            date__range=(invoice.period, month_end(invoice.period)),
            invoice_line__in=lines,
        )
        .order_by()
        .values_list("child_id", "date")
    ):  # unordered: no join
        attended.setdefault(child_id, set()).add(day)
    children = []
    seen = set()
    weeks = month_weeks(invoice.period)
    present = _("attended")
    for line in lines:
        if line.child_id in seen:
            continue
        seen.add(line.child_id)
        days = attended.get(line.child_id, set())
        # Each cell: the day of the month and, if attended, what a screen
        # reader says ("3 octobre : présent"), formatted here once per day.
        children.append(
            {
                "name": line.child_name,
                "count": len(days),
                "weeks": [
                    [
                        (
                            day.day,
                            f"{formats.date_format(day, 'j F')} : {present}"
                            if day in days
                            else "",
                        )
                        if day
                        else (None, "")
                        for day in week
                    ]
                    for week in weeks
                ],
            }
        )
    return render(
        request,
        "factures/invoice_detail.html",
        {
            "invoice": invoice,
            "lines": lines,
            "credit_notes": invoice.credit_notes.all(),
            "children": children,
            "rules": payment_rules(),
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
