"""The agent's day: what the admin's home page shows a member of staff, for
their role (each part only with the permission to see the list behind it).

Every figure is read in a fixed number of queries, whatever the number of
families (tests/portail/test_dashboard.py counts them), and links to the
filtered list it sums up."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, Max, Min, Q, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from factures.aging import AGE_BRACKETS, UNPAID, bracket_key, day_start, issued_aged
from factures.models import Invoice, InvoicingRun, PaperBatch
from factures.money import ZERO, format_euros, round_money
from factures.periods import month_label, month_start
from familles.models import AddressChangeRequest, User
from paiements.accounts import family_credits
from paiements.models import Payment, PaymentOverride, Refund
from paiements.rules import families_blocked, payment_rules
from portail.charts import Bar, bar_chart
from signalements.models import Report

# A report left open longer than this is shown as late.
REPORT_LATE_DAYS = 7


def _link(name: str, **query: Any) -> str:
    url = reverse(name)
    return f"{url}?{urlencode(query)}" if query else url


def _money(value: Decimal | None) -> Decimal:
    return round_money(value or ZERO)


@dataclass
class Line:
    """One row of a table: a label, figures, and where each one leads."""

    label: str
    cells: list[tuple[str, str | None]] = field(default_factory=list)


@dataclass
class Section:
    key: str
    title: str
    headers: list[str]
    lines: list[Line]
    chart: str = ""
    note: str = ""


def _takings(today: datetime.date) -> Section:
    """Money taken today and this month, by method (reversals deducted)."""
    day, month = day_start(today), day_start(month_start(today))
    tomorrow = day_start(today + datetime.timedelta(days=1))
    rows = {
        row["method"]: row
        for row in Payment.objects.filter(
            received_at__gte=month, received_at__lt=tomorrow
        )
        .order_by()
        .values("method")
        .annotate(
            today=Sum("amount", filter=Q(received_at__gte=day)),
            today_count=Count("pk", filter=Q(received_at__gte=day)),
            month=Sum("amount"),
            month_count=Count("pk"),
        )
    }
    changelist = "admin:paiements_payment_changelist"

    def link(since: datetime.datetime, **query: Any) -> str:
        return _link(
            changelist,
            received_at__gte=str(since),
            received_at__lt=str(tomorrow),
            **query,
        )

    lines, bars = [], []
    total_day, total_month, count_day, count_month = ZERO, ZERO, 0, 0
    for method, label in Payment.Method.choices:
        row: dict[str, Any] = dict(rows.get(method) or {})
        today_sum, month_sum = _money(row.get("today")), _money(row.get("month"))
        today_n, month_n = row.get("today_count") or 0, row.get("month_count") or 0
        total_day, total_month = total_day + today_sum, total_month + month_sum
        count_day, count_month = count_day + today_n, count_month + month_n
        name = str(label).capitalize()
        lines.append(
            Line(
                name,
                [
                    (format_euros(today_sum), link(day, method__exact=method)),
                    (str(today_n), None),
                    (format_euros(month_sum), link(month, method__exact=method)),
                    (str(month_n), None),
                ],
            )
        )
        bars.append(Bar(name, today_sum, format_euros(today_sum)))
    lines.append(
        Line(
            _("Total"),
            [
                (format_euros(total_day), link(day)),
                (str(count_day), None),
                (format_euros(total_month), link(month)),
                (str(count_month), None),
            ],
        )
    )
    return Section(
        "takings",
        _("Money taken"),
        [_("Method"), _("Today"), _("Payments"), _("This month"), _("Payments")],
        lines,
        chart=bar_chart(
            _("Money taken today, by method"), bars, chart_id="chart-takings"
        ),
    )


class _Unpaid:
    """What is unpaid, read once for the two parts that show it: by age, and
    the families over the unpaid limit (one pass over the unpaid invoices,
    grouped by family; the rules then decide the block of those over it
    and of those blocked by hand)."""

    def __init__(self, today: datetime.date) -> None:
        aggregates: dict[str, Any] = {}
        for low, high, _label in AGE_BRACKETS:
            key = _key(low, high)
            condition = issued_aged(low, high, today)
            aggregates[f"n{key}"] = Count("pk", filter=condition)
            aggregates[f"s{key}"] = Sum("due", filter=condition)
        self.by_age: dict[str, tuple[int, Decimal]] = {}
        self.over_limit: list[int] = []
        limit = payment_rules().unpaid_limit
        rows: list[dict[str, Any]] = [
            dict(row)
            for row in Invoice.objects.unpaid()
            .order_by()
            .values("family_id")
            .annotate(**aggregates)
        ]
        for low, high, _label in AGE_BRACKETS:
            key = _key(low, high)
            self.by_age[key] = (
                sum(row[f"n{key}"] for row in rows),
                _money(sum((row[f"s{key}"] or ZERO for row in rows), ZERO)),
            )
        for row in rows:
            if (
                sum(row[f"n{_key(low, high)}"] for low, high, _l in AGE_BRACKETS)
                > limit
            ):
                self.over_limit.append(row["family_id"])


def _key(low: int, high: int | None) -> str:
    return bracket_key(low, high).replace("-", "_")


def _unpaid(unpaid: _Unpaid) -> Section:
    """Invoices waiting for money, by the time since they were issued."""
    lines, bars = [], []
    count, amount = 0, ZERO
    for low, high, label in AGE_BRACKETS:
        key = bracket_key(low, high)
        n, due = unpaid.by_age[_key(low, high)]
        count, amount = count + n, amount + due
        url = _link("admin:factures_invoice_changelist", state=UNPAID, age=key)
        lines.append(Line(str(label), [(str(n), url), (format_euros(due), url)]))
        bars.append(Bar(str(label), due, format_euros(due)))
    url = _link("admin:factures_invoice_changelist", state=UNPAID)
    lines.append(Line(_("Total"), [(str(count), url), (format_euros(amount), url)]))
    return Section(
        "unpaid",
        _("Unpaid invoices by age"),
        [_("Issued"), _("Invoices"), _("Amount due")],
        lines,
        chart=bar_chart(_("Amount due by age"), bars, chart_id="chart-unpaid"),
        note=_("Disputed invoices are not counted: they wait for their report."),
    )


def _blocked(unpaid: _Unpaid) -> Section:
    by_hand = PaymentOverride.objects.filter(
        cleared_at__isnull=True, state=PaymentOverride.State.BLOCKED
    ).values_list("family_id", flat=True)
    candidates = {*unpaid.over_limit, *by_hand}
    blocked = sum(families_blocked(candidates).values()) if candidates else 0
    return Section(
        "blocked",
        _("Families blocked online"),
        [_("Families"), pgettext("how many", "Number")],
        [
            Line(
                _("Cannot pay by card"),
                [(str(blocked), _link("admin:paiements_payment_blocked"))],
            )
        ],
    )


def _reports(today: datetime.date) -> Section:
    late = day_start(today - datetime.timedelta(days=REPORT_LATE_DAYS - 1))
    rows = {
        row["kind"]: row
        for row in Report.objects.open()
        .order_by()
        .values("kind")
        .annotate(
            new=Count("pk", filter=Q(status=Report.Status.NEW)),
            in_progress=Count("pk", filter=Q(status=Report.Status.IN_PROGRESS)),
            late=Count("pk", filter=Q(created_at__lt=late)),
            oldest=Min("created_at"),
        )
    }
    changelist = "admin:signalements_report_changelist"
    lines = []
    for kind, label in Report.Kind.choices:
        row = rows.get(kind)
        if row is None:
            continue
        lines.append(
            Line(
                str(label),
                [
                    (
                        str(row["new"]),
                        _link(
                            changelist,
                            kind__exact=kind,
                            status__exact=Report.Status.NEW,
                        ),
                    ),
                    (
                        str(row["in_progress"]),
                        _link(
                            changelist,
                            kind__exact=kind,
                            status__exact=Report.Status.IN_PROGRESS,
                        ),
                    ),
                    (str(row["late"]), None),
                    (
                        timezone.localtime(row["oldest"]).strftime("%d/%m/%Y"),
                        None,
                    ),
                ],
            )
        )
    return Section(
        "reports",
        _("Reports waiting for an answer"),
        [
            _("Kind"),
            _("New"),
            _("In progress"),
            _("Open for %(days)s days or more") % {"days": REPORT_LATE_DAYS},
            _("Oldest sent on"),
        ],
        lines,
        note="" if lines else _("No report is waiting."),
    )


def _addresses() -> Section:
    waiting = AddressChangeRequest.objects.filter(
        status=AddressChangeRequest.Status.PENDING
    ).aggregate(n=Count("pk"), oldest=Min("submitted_at"))
    url = _link(
        "admin:familles_addresschangerequest_changelist",
        status__exact=AddressChangeRequest.Status.PENDING,
    )
    oldest = (
        timezone.localtime(waiting["oldest"]).strftime("%d/%m/%Y")
        if waiting["oldest"]
        else "—"
    )
    return Section(
        "addresses",
        _("Address changes waiting"),
        [_("Requests"), pgettext("how many", "Number"), _("Oldest sent on")],
        [Line(_("To validate or refuse"), [(str(waiting["n"]), url), (oldest, None)])],
    )


def _credits() -> Section:
    """Credit held by families (to allocate or refund) and refunds under
    way or failed."""
    credits = family_credits(None)
    held_count, held = len(credits), sum(credits.values(), ZERO)
    refunds = dict(
        Refund.objects.filter(status__in=[Refund.Status.PENDING, Refund.Status.FAILED])
        .order_by()
        .values("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    payments = "admin:paiements_payment_changelist"
    refund_list = "admin:paiements_refund_changelist"
    return Section(
        "credits",
        _("Credit to allocate or refund"),
        [_("Kind"), pgettext("how many", "Number"), _("Amount")],
        [
            Line(
                _("Families holding credit"),
                [
                    (str(held_count), _link(payments, excedent="oui")),
                    (format_euros(held), _link(payments, excedent="oui")),
                ],
            ),
            Line(
                _("Card refunds under way"),
                [
                    (
                        str(refunds.get(Refund.Status.PENDING, 0)),
                        _link(refund_list, status__exact=Refund.Status.PENDING),
                    ),
                    ("", None),
                ],
            ),
            Line(
                _("Refunds that failed"),
                [
                    (
                        str(refunds.get(Refund.Status.FAILED, 0)),
                        _link(refund_list, status__exact=Refund.Status.FAILED),
                    ),
                    ("", None),
                ],
            ),
        ],
    )


def _run_state(run: InvoicingRun) -> str:
    values = {
        "month": month_label(run.period),
        "state": _("lost (ask again)") if run.lost else run.get_status_display(),
        "done": run.families_done,
        "total": run.families_total,
        "count": run.invoices_issued,
        "amount": format_euros(run.total_amount),
    }
    if run.status == InvoicingRun.Status.DONE:
        return _("%(month)s: %(state)s, %(count)s invoices, %(amount)s") % values
    if run.status in InvoicingRun.ON_ITS_WAY and not run.lost:
        return _("%(month)s: %(state)s, %(done)s of %(total)s families") % values
    return _("%(month)s: %(state)s") % values


def _runs() -> Section:
    """The last month invoiced, the last run and the last paper batch, with
    their state."""
    lines = []
    run_page = reverse("admin:factures_invoice_run")
    last = Invoice.objects.order_by().aggregate(period=Max("period"))["period"]
    if last is not None:
        month = Invoice.objects.filter(period=last).aggregate(
            n=Count("pk"), s=Sum("total"), at=Max("issued_at")
        )
        lines.append(
            Line(
                _("Invoicing of %(month)s") % {"month": month_label(last)},
                [
                    (
                        _("%(count)s invoices, %(amount)s, issued on %(day)s")
                        % {
                            "count": month["n"],
                            "amount": format_euros(_money(month["s"])),
                            "day": timezone.localtime(month["at"]).strftime("%d/%m/%Y"),
                        },
                        _link(
                            "admin:factures_invoice_changelist",
                            period__year=last.year,
                            period__month=last.month,
                        ),
                    )
                ],
            )
        )
    run = InvoicingRun.objects.order_by("-requested_at", "-pk").first()
    if run is not None:
        lines.append(Line(_("Last invoicing run"), [(_run_state(run), run_page)]))
    batch = PaperBatch.objects.order_by("-requested_at").first()
    if batch is not None:
        lines.append(
            Line(
                _("Paper batch of %(month)s") % {"month": month_label(batch.period)},
                [
                    (
                        _("%(state)s, %(count)s invoices, requested on %(day)s")
                        % {
                            "state": _("lost (ask again)")
                            if batch.lost
                            else batch.get_status_display(),
                            "count": batch.invoice_count,
                            "day": timezone.localtime(batch.requested_at).strftime(
                                "%d/%m/%Y %H:%M"
                            ),
                        },
                        run_page,
                    )
                ],
            )
        )
    return Section(
        "runs",
        _("Invoicing and printing"),
        [_("Run"), _("State")],
        lines,
        note="" if lines else _("No month has been invoiced yet."),
    )


def agent_day(user: User, *, today: datetime.date | None = None) -> list[Section]:
    """The home page's parts that `user` may see, in the order an agent
    reads them: money, what waits for them, the runs."""
    today = today or timezone.localdate()
    sections = []
    money, invoices = (
        user.has_perm("paiements.view_payment"),
        user.has_perm("factures.view_invoice"),
    )
    unpaid = _Unpaid(today) if money or invoices else None
    if money:
        sections += [_takings(today)]
    if invoices and unpaid:
        sections += [_unpaid(unpaid)]
    if money and unpaid:
        sections += [_blocked(unpaid), _credits()]
    if user.has_perm("signalements.view_report"):
        sections += [_reports(today)]
    if user.has_perm("familles.view_addresschangerequest"):
        sections += [_addresses()]
    if user.has_perm("factures.view_invoice"):
        sections += [_runs()]
    return sections
