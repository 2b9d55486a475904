"""Tariffs, attendance, invoices and credit notes.

Invoices and credit notes are history: their lines copy the names, labels
and prices of the day they were issued, and they are never edited or deleted
(corrections are credit notes; see `factures.services`).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal
from functools import cache
from typing import Any, NamedTuple

from django.apps import apps
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from factures.money import ZERO, round_money
from factures.sql import PerInvoice


class Activity(models.Model):
    """A billed service: the school canteen first; others (garderie…) possible."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    label = models.CharField(_("label"), max_length=100)

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.label


class TariffBracket(models.Model):
    """A *tranche tarifaire*: families whose *quotient familial* (the household's
    monthly income divided by its number of shares, computed by the family
    allowance office) falls in [qf_min, qf_max] pay the bracket's prices."""

    code = models.CharField(_("code"), max_length=10, unique=True)
    label = models.CharField(_("label"), max_length=100)
    qf_min = models.DecimalField(
        _("minimum quotient familial"), max_digits=10, decimal_places=2, default=0
    )
    qf_max = models.DecimalField(
        _("maximum quotient familial"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Leave empty for the highest bracket."),
    )

    class Meta:
        verbose_name = _("tariff bracket")
        verbose_name_plural = _("tariff brackets")
        ordering = ["qf_min"]
        constraints = [
            models.CheckConstraint(
                condition=Q(qf_max__isnull=True) | Q(qf_max__gte=models.F("qf_min")),
                name="tariffbracket_range_ordered",
            )
        ]

    def __str__(self) -> str:
        return self.label


class Price(models.Model):
    """The unit price of one activity in one bracket, from `valid_from` until
    the day before the next price of the same bracket and activity."""

    bracket = models.ForeignKey(
        TariffBracket,
        verbose_name=_("tariff bracket"),
        on_delete=models.PROTECT,
        related_name="prices",
    )
    activity = models.ForeignKey(
        Activity,
        verbose_name=_("activity"),
        on_delete=models.PROTECT,
        related_name="prices",
    )
    unit_price = models.DecimalField(_("unit price"), max_digits=10, decimal_places=2)
    valid_from = models.DateField(_("valid from"))

    class Meta:
        verbose_name = _("price")
        verbose_name_plural = _("prices")
        ordering = ["bracket", "activity", "-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["bracket", "activity", "valid_from"], name="price_one_per_start"
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="price_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.bracket} – {self.activity} – {self.unit_price} €"


class BracketAssignment(models.Model):
    """A family's bracket from `valid_from` until the next assignment: the
    history that decides which price applies on the day of each meal."""

    family = models.ForeignKey(
        "familles.Family",
        verbose_name=_("family"),
        on_delete=models.PROTECT,
        related_name="bracket_assignments",
    )
    bracket = models.ForeignKey(
        TariffBracket, verbose_name=_("tariff bracket"), on_delete=models.PROTECT
    )
    valid_from = models.DateField(_("valid from"))
    created_at = models.DateTimeField(_("recorded on"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("bracket assignment")
        verbose_name_plural = _("bracket history")
        # By the foreign key's column: ordering by the relation itself joins
        # its table to sort by its own ordering, on every read.
        ordering = ["family_id", "-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["family", "valid_from"], name="bracketassignment_one_per_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.bracket} ({self.valid_from})"


class Attendance(models.Model):
    """A *fréquentation*: a child took part in an activity on a day.

    The largest table; the invoicing run marks a month of it with the line
    that bills each meal. The marked column has no index, so that marking
    rewrites rows and not indexes (docs/PERFORMANCE.md); a line's meals are
    found through `attendance_once_a_day` (child, activity, date), and the
    run finds a month's unbilled meals through `attendance_by_date`, not by
    reading every school year's."""

    child = models.ForeignKey(
        "familles.Child",
        verbose_name=_("child"),
        on_delete=models.PROTECT,
        related_name="attendances",
        db_index=False,  # the first column of attendance_once_a_day
    )
    activity = models.ForeignKey(
        Activity, verbose_name=_("activity"), on_delete=models.PROTECT
    )
    date = models.DateField(_("date"))
    invoice_line = models.ForeignKey(
        "InvoiceLine",
        verbose_name=_("invoice line"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="attendances",
        db_index=False,  # lines are never deleted: nothing looks rows up by it
    )
    created_at = models.DateTimeField(_("recorded on"), default=timezone.now)

    class Meta:
        verbose_name = _("attendance")
        verbose_name_plural = _("attendance")
        ordering = ["-date", "child"]
        constraints = [
            models.UniqueConstraint(
                fields=["child", "activity", "date"], name="attendance_once_a_day"
            )
        ]
        indexes = [models.Index(fields=["date"], name="attendance_by_date")]

    def __str__(self) -> str:
        return f"{self.child} – {self.activity} – {self.date}"


ANNOTATIONS = ("credited", "paid", "due", "state", "disputed")


def balance_state(
    *,
    total: Decimal,
    credited: Decimal,
    paid: Decimal,
    disputed: bool,
    has_cancellation: bool,
) -> tuple[Decimal, Invoice.Status]:
    """What is due and the state, from the four amounts: the rule of
    `InvoiceQuerySet.with_balance`, in Python (a test holds them equal)."""
    remaining = total - credited - paid
    if has_cancellation or (total > 0 and credited >= total):
        state = Invoice.Status.CANCELLED
    elif remaining <= 0:
        state = Invoice.Status.PAID
    elif disputed:
        state = Invoice.Status.DISPUTED
    elif paid > 0:
        state = Invoice.Status.PARTLY_PAID
    else:
        state = Invoice.Status.TO_PAY
    return max(remaining, ZERO), state


class _BalanceIterable(models.query.ModelIterable):
    """Invoices read by `with_amounts()`: `due` and `state` are set from the
    four amounts by `balance_state`, the same rule as the SQL of
    `with_balance()`."""

    def __iter__(self):  # noqa: ANN204
        for invoice in super().__iter__():
            invoice.due, invoice.state = balance_state(
                total=invoice.total,
                credited=invoice.credited,
                paid=invoice.paid,
                disputed=invoice.disputed,
                has_cancellation=invoice.has_cancellation,
            )
            yield invoice


class InvoiceQuerySet(models.QuerySet["Invoice"]):
    def with_balance(self) -> InvoiceQuerySet:
        """Annotate `credited`, `paid`, `due` and `state`: the one place where
        what an invoice still owes and its status are computed. The model's
        properties read these annotations.

        - cancelled: a cancellation credit note exists, or credit notes cover
          the whole total;
        - paid: nothing is due any more;
        - disputed: a dispute about its amount is open (not payable online,
          left out of the unpaid count);
        - partly paid: a payment covers part of it;
        - to pay: otherwise.
        """
        money = models.DecimalField(max_digits=10, decimal_places=2)
        return (
            self.annotate(**self._amounts())
            .annotate(
                remaining=models.ExpressionWrapper(
                    models.F("total") - models.F("credited") - models.F("paid"),
                    output_field=money,
                )
            )
            .annotate(
                due=Greatest(models.F("remaining"), ZERO, output_field=money),
                state=models.Case(
                    models.When(
                        Q(has_cancellation=True)
                        | Q(total__gt=0, credited__gte=models.F("total")),
                        then=models.Value(Invoice.Status.CANCELLED),
                    ),
                    models.When(
                        remaining__lte=0, then=models.Value(Invoice.Status.PAID)
                    ),
                    models.When(
                        disputed=True, then=models.Value(Invoice.Status.DISPUTED)
                    ),
                    models.When(
                        paid__gt=0, then=models.Value(Invoice.Status.PARTLY_PAID)
                    ),
                    default=models.Value(Invoice.Status.TO_PAY),
                    output_field=models.CharField(),
                ),
            )
        )

    @staticmethod
    @cache
    def _amounts() -> dict[str, models.Expression]:
        # Built once: an annotation resolves a copy of its expression, never
        # the expression itself, so every queryset can share these.
        money = models.DecimalField(max_digits=10, decimal_places=2)
        Allocation = apps.get_model("paiements", "Allocation")  # noqa: N806
        return {
            "credited": PerInvoice(
                CreditNote, "COALESCE(SUM(r.total), 0)", output_field=money
            ),
            "paid": PerInvoice(
                Allocation, "COALESCE(SUM(r.amount), 0)", output_field=money
            ),
            "disputed": PerInvoice(
                InvoiceDispute,
                "COUNT(*) > 0",
                where="r.closed_at IS NULL",
                output_field=models.BooleanField(),
            ),
            "has_cancellation": PerInvoice(
                CreditNote,
                "COUNT(*) > 0",
                where="r.is_cancellation",
                output_field=models.BooleanField(),
            ),
        }

    def with_amounts(self) -> InvoiceQuerySet:
        """`with_balance()` for reading, not filtering: the four amounts in
        SQL, `due` and `state` worked out in Python as each invoice is read.
        A family's pages use it: the state's CASE repeats each amount's
        subquery, which costs more to plan and compile than the page's
        other queries together."""
        queryset = self.annotate(**self._amounts())
        queryset._iterable_class = _BalanceIterable
        return queryset

    def owing(self) -> InvoiceQuerySet:
        """`with_amounts()` of the open invoices (`Invoice.is_open`): to pay,
        partly paid or disputed. A family's pages read these rather than the
        family's whole history, which grows by ten invoices a year."""
        return self.filter(is_open=True).with_amounts()

    def with_state(self, state: str) -> InvoiceQuerySet:
        """Invoices in `state`, found among the open or the settled ones
        first (the partial index `invoice_open`), then told apart by the
        derived state."""
        is_open = state in Invoice.OPEN_STATES
        return self.filter(is_open=is_open).with_balance().filter(state=state)  # type: ignore[misc]  # an annotation

    def unpaid(self) -> InvoiceQuerySet:
        """Invoices that still wait for money and are not disputed: the open
        ones (read through the partial index `invoice_open`, whatever the
        history's length) whose derived state is to pay or partly paid."""
        return (
            self.filter(is_open=True)
            .with_balance()
            .filter(state__in=Invoice.UNPAID_STATES)  # type: ignore[misc]  # an annotation
        )

    def _open_truth(self) -> models.QuerySet[Invoice, Any]:
        """The ids of these invoices whose derived state is open."""
        return (
            self.with_balance()
            .filter(state__in=Invoice.OPEN_STATES)  # type: ignore[misc]  # an annotation
            .values("pk")
        )

    def open_flags_sync(self) -> int:
        """Set `is_open` of these invoices from the derived truth (the state
        of `with_balance()`); returns how many changed. Every money service
        calls it, under its locks, on the invoices it touched."""
        pks = self._open_truth()
        opened = self.filter(is_open=False, pk__in=pks).update(is_open=True)
        return opened + self.filter(is_open=True).exclude(pk__in=pks).update(
            is_open=False
        )

    def open_flags_wrong(self) -> InvoiceQuerySet:
        """Invoices whose stored `is_open` differs from the derived truth:
        none, ever (a test checks it after every test that touched the
        database)."""
        pks = Invoice.objects.all()._open_truth()
        return self.filter(
            Q(is_open=True) & ~Q(pk__in=pks) | Q(is_open=False, pk__in=pks)
        )


class Invoice(models.Model):
    """A family's invoice for one month. Issued once, never edited."""

    class Status(models.TextChoices):
        TO_PAY = "to_pay", _("to pay")
        PARTLY_PAID = "partly_paid", _("partly paid")
        PAID = "paid", _("paid")
        CANCELLED = "cancelled", _("cancelled")
        DISPUTED = "disputed", _("disputed")

    # Still waiting for money, and not disputed: what `unpaid()` selects.
    UNPAID_STATES = (Status.TO_PAY, Status.PARTLY_PAID)
    # Not settled: what `is_open` stands for.
    OPEN_STATES = (*UNPAID_STATES, Status.DISPUTED)

    number = models.CharField(_("number"), max_length=20, unique=True, editable=False)
    family = models.ForeignKey(
        "familles.Family",
        verbose_name=_("family"),
        on_delete=models.PROTECT,
        related_name="invoices",
    )
    period = models.DateField(
        _("month"), help_text=_("First day of the invoiced month.")
    )
    issued_at = models.DateTimeField(_("issued on"), default=timezone.now)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("issued by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    total = models.DecimalField(_("total"), max_digits=10, decimal_places=2)
    # Copied at issue time: the invoice shows what was true that day.
    family_identifier = models.CharField(_("family identifier"), max_length=12)
    family_name = models.CharField(_("family name"), max_length=150)
    billing_address = models.TextField(_("billing address"))
    paperless = models.BooleanField(_("paperless"))
    replaces = models.OneToOneField(
        "self",
        verbose_name=_("replaces"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="replaced_by",
    )

    # Stored beside the derived state so that what is still owed is found
    # through a partial index, not by working out the state of every invoice
    # ever issued: true while the state is to pay, partly paid or disputed.
    # Kept by the money services (`InvoiceQuerySet.open_flags_sync`), never
    # by hand; the state itself stays derived.
    is_open = models.BooleanField(_("still to settle"), default=True, editable=False)

    objects = InvoiceQuerySet.as_manager()
    # Set on invoices read through `with_balance()` or `with_amounts()`.
    credited: Decimal
    paid: Decimal
    due: Decimal
    state: str
    disputed: bool
    has_cancellation: bool
    history = HistoricalRecords(excluded_fields=["is_open"])

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-period", "-number"]
        indexes = [
            # The open invoices, a month's first: what is owed, the block,
            # reminders, the dashboard's ages.
            models.Index(
                fields=["period", "family"],
                condition=Q(is_open=True),
                name="invoice_open",
            ),
            # A family's open invoices: its account, and the block's count
            # for a batch of the run's families (through `invoice_open`, the
            # count read every open invoice of the batch's months).
            models.Index(
                fields=["family"],
                condition=Q(is_open=True),
                name="invoice_open_by_family",
            ),
            # A month's invoices: the paper batch, the run's "already invoiced".
            models.Index(fields=["period"], name="invoice_period"),
        ]
        constraints = [
            # One invoice per family and month, except the corrected one that
            # replaces a cancelled invoice.
            # On the identifier copied at issue time, so that the invoices of
            # two merged families (each issued for the same month) both stay.
            models.UniqueConstraint(
                fields=["family_identifier", "period"],
                condition=Q(replaces__isnull=True),
                name="invoice_one_per_family_month",
            ),
            models.CheckConstraint(
                condition=Q(period__day=1), name="invoice_period_is_month"
            ),
            models.CheckConstraint(
                condition=Q(total__gte=0), name="invoice_total_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("factures:detail", args=[self.pk])

    def _annotated(self, name: str) -> Any:
        if not hasattr(self, name):
            fresh = Invoice.objects.with_balance().get(pk=self.pk)
            for field in ANNOTATIONS:
                setattr(self, field, getattr(fresh, field))
        return getattr(self, name)

    @property
    def amount_credited(self) -> Decimal:
        return round_money(self._annotated("credited"))

    @property
    def may_have_credit_notes(self) -> bool:
        """False when the invoice was read with its amounts and nothing is
        credited (credit notes are positive): its credit notes need not be
        read. True when it was read without its amounts."""
        return getattr(self, "credited", None) != 0

    def credit_notes_to_show(self) -> Iterable[CreditNote]:
        """Its credit notes, without a query when there can be none."""
        return self.credit_notes.all() if self.may_have_credit_notes else []

    @property
    def amount_paid(self) -> Decimal:
        return round_money(self._annotated("paid"))

    @property
    def amount_due(self) -> Decimal:
        """What is still owed (never below zero); see `with_balance`. To the
        cent: SQLite computes the SQL's amounts in floating point, which came
        back as 57.6000000000000 and showed so in the admin's list."""
        return round_money(self._annotated("due"))

    @property
    def status(self) -> Invoice.Status:
        """See `InvoiceQuerySet.with_balance` for the rule."""
        return Invoice.Status(self._annotated("state"))

    def refresh_balance(self) -> None:
        for field in ANNOTATIONS:
            self.__dict__.pop(field, None)


class InvoiceLine(models.Model):
    """Quantity × unit price for one child and activity (and one price: a
    bracket change within the month gives two lines)."""

    invoice = models.ForeignKey(
        Invoice,
        verbose_name=_("invoice"),
        on_delete=models.PROTECT,
        related_name="lines",
    )
    child = models.ForeignKey(
        "familles.Child",
        verbose_name=_("child"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    activity = models.ForeignKey(
        Activity, verbose_name=_("activity"), on_delete=models.PROTECT
    )
    child_name = models.CharField(_("child"), max_length=200)
    label = models.CharField(_("label"), max_length=200)
    bracket_label = models.CharField(_("tariff bracket"), max_length=100)
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = models.DecimalField(_("unit price"), max_digits=10, decimal_places=2)
    amount = models.DecimalField(_("amount"), max_digits=10, decimal_places=2)

    class Meta:
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")
        # By the foreign key's column: ordering by the relation itself joins
        # its table to sort by its own ordering, on every read.
        ordering = ["invoice_id", "child_name", "activity_id", "pk"]

    def __str__(self) -> str:
        return f"{self.child_name} – {self.label} × {self.quantity}"


class CreditNote(models.Model):
    """An *avoir*: money taken off an invoice (wrong bracket or attendance,
    refund of sessions not attended), or all of it when cancelling."""

    number = models.CharField(_("number"), max_length=20, unique=True, editable=False)
    invoice = models.ForeignKey(
        Invoice,
        verbose_name=_("invoice"),
        on_delete=models.PROTECT,
        related_name="credit_notes",
    )
    issued_at = models.DateTimeField(_("issued on"), default=timezone.now)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("issued by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reason = models.TextField(_("reason"))
    is_cancellation = models.BooleanField(_("cancels the invoice"), default=False)
    total = models.DecimalField(_("total"), max_digits=10, decimal_places=2)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("credit note")
        verbose_name_plural = _("credit notes")
        ordering = ["-issued_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(total__gt=0), name="creditnote_total_positive"
            ),
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(is_cancellation=True),
                name="creditnote_one_cancellation",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class CreditNoteLine(models.Model):
    credit_note = models.ForeignKey(
        CreditNote,
        verbose_name=_("credit note"),
        on_delete=models.PROTECT,
        related_name="lines",
    )
    label = models.CharField(_("label"), max_length=200)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    unit_price = models.DecimalField(_("unit price"), max_digits=10, decimal_places=2)
    amount = models.DecimalField(_("amount"), max_digits=10, decimal_places=2)

    class Meta:
        verbose_name = _("credit note line")
        verbose_name_plural = _("credit note lines")
        # By the foreign key's column: ordering by the relation itself joins
        # its table to sort by its own ordering, on every read.
        ordering = ["credit_note_id", "pk"]

    def __str__(self) -> str:
        return f"{self.label} × {self.quantity}"


class NumberSequence(models.Model):
    """The last number used in a series (invoices, credit notes) and a year;
    see `factures.numbering`."""

    series = models.CharField(max_length=10)
    year = models.PositiveSmallIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("number sequence")
        verbose_name_plural = _("number sequences")
        constraints = [
            models.UniqueConstraint(
                fields=["series", "year"], name="numbersequence_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.series}-{self.year}: {self.last_number}"


class InvoiceDispute(models.Model):
    """A family disputes the amount of an invoice: until it is closed the
    invoice is *contestée*, not payable online and not counted as unpaid.
    Opened and closed by the reports (or by an agent)."""

    invoice = models.ForeignKey(
        Invoice,
        verbose_name=_("invoice"),
        on_delete=models.PROTECT,
        related_name="disputes",
    )
    reason = models.TextField(_("reason"))
    opened_at = models.DateTimeField(_("opened on"), default=timezone.now)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("opened by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    closed_at = models.DateTimeField(_("closed on"), null=True, blank=True)

    class Meta:
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(closed_at__isnull=True),
                name="invoicedispute_one_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.invoice} – {timezone.localtime(self.opened_at):%d/%m/%Y}"


# A paper batch waiting or being printed whose worker gave no news for this
# long is taken for lost (a worker stopped during it): its month can be
# asked for again. Each chunk of it takes well under a minute, and tells.
PRINT_PATIENCE = datetime.timedelta(minutes=15)
# How long a printed batch is kept (factures.printing.paper_batches_purge).
PAPER_BATCH_KEEP = datetime.timedelta(days=7)


class MonthlyWork(models.Model):
    """A month's work an agent asks for and the worker does: who asked,
    when, and when it ended (the paper batch, the invoicing run)."""

    period = models.DateField(_("month"))
    requested_at = models.DateTimeField(_("requested on"), default=timezone.now)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    finished_at = models.DateTimeField(_("finished on"), null=True, blank=True)

    class Meta:
        abstract = True


class PaperBatchQuerySet(models.QuerySet["PaperBatch"]):
    def on_its_way(self) -> PaperBatchQuerySet:
        """Batches waiting or being printed, not yet taken for lost (the
        same rule as `PaperBatch.lost`, in SQL)."""
        return self.filter(
            status__in=[PaperBatch.Status.QUEUED, PaperBatch.Status.RUNNING],
            touched_at__gt=timezone.now() - PRINT_PATIENCE,
        )


class PaperVolume(NamedTuple):
    """One file of a printed batch, as the invoicing page offers it."""

    part: int  # from 1
    filename: str  # as downloaded
    first: int  # the rank of its first invoice in the batch, from 1
    last: int
    pages: int


class PaperBatch(MonthlyWork):
    """The month's paper invoices as PDF files, printed by background tasks
    a chunk at a time (`factures.printing`): a thousand invoices take longer
    than a web request may (bench/pdf.py). One file, or several of at most
    `factures.printing.PRINT_VOLUME_CHUNKS` chunks (joining chunks holds
    the pages of their file in memory). The agent downloads them from the
    invoicing page once the batch is ready."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("waiting")
        RUNNING = "running", _("being printed")
        READY = "ready", _("ready")
        FAILED = "failed", _("failed")

    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    invoice_count = models.PositiveIntegerField(_("invoices"), default=0)
    # While it prints: the invoices to print, and how many are laid out.
    invoice_total = models.PositiveIntegerField(_("invoices to print"), default=0)
    printed = models.PositiveIntegerField(_("invoices printed"), default=0)
    pages = models.PositiveIntegerField(_("pages"), default=0)
    # The batch's files, in order, as they are joined: each its storage
    # name, and the chunks, invoices and pages it holds.
    files = models.JSONField(default=list, editable=False)
    # Printed a chunk per task (`factures.printing`): the invoices frozen
    # when printing starts, the files of the chunks printed and not yet
    # joined into one of `files`, and when the worker last gave news (asked,
    # started, a chunk laid out).
    invoice_ids = models.JSONField(default=list, editable=False)
    parts = models.JSONField(default=list, editable=False)
    touched_at = models.DateTimeField(_("last news"), default=timezone.now)

    ON_ITS_WAY = (Status.QUEUED, Status.RUNNING)

    objects = PaperBatchQuerySet.as_manager()

    class Meta:
        verbose_name = _("paper batch")
        verbose_name_plural = _("paper batches")
        ordering = ["-requested_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.period:%Y-%m} ({self.get_status_display()})"

    @property
    def filename(self) -> str:
        return f"factures-papier-{self.period:%Y-%m}.pdf"

    @property
    def volumes(self) -> list[PaperVolume]:
        """The batch's files as the agent downloads them: one is named for
        the month, several for the month and their part ("-2-sur-3")."""
        volumes, first = [], 1
        for part, file in enumerate(self.files, start=1):
            filename = self.filename
            if len(self.files) > 1:
                filename = filename.replace(
                    ".pdf", f"-{part}-sur-{len(self.files)}.pdf"
                )
            last = first + file["invoices"] - 1
            volumes.append(PaperVolume(part, filename, first, last, file["pages"]))
            first = last + 1
        return volumes

    @property
    def lost(self) -> bool:
        """Still waiting or being printed, without news for
        `PRINT_PATIENCE`: a worker stopped during it (the same rule as
        `on_its_way`, in Python)."""
        waiting = self.status in (self.Status.QUEUED, self.Status.RUNNING)
        return waiting and self.touched_at <= timezone.now() - PRINT_PATIENCE


# A run waiting or running whose worker gave no news for this long is taken
# for lost (a worker stopped during it): the month can be run again.
RUN_PATIENCE = datetime.timedelta(minutes=30)


class InvoicingRunQuerySet(models.QuerySet["InvoicingRun"]):
    def on_its_way(self) -> InvoicingRunQuerySet:
        return self.filter(status__in=InvoicingRun.ON_ITS_WAY)


class InvoicingRun(MonthlyWork):
    """A month's invoicing, asked for on the invoicing page and done by the
    worker (`factures.runs`): its progress while it runs, then its summary.
    One run per month at a time (a constraint): asking twice does the work
    once."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("waiting")
        RUNNING = "running", _("in progress")
        DONE = "done", _("finished")
        FAILED = "failed", _("failed")

    ON_ITS_WAY = (Status.QUEUED, Status.RUNNING)

    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    families_total = models.PositiveIntegerField(_("families to invoice"), default=0)
    families_done = models.PositiveIntegerField(_("families done"), default=0)
    # The last news from the worker: a run silent for `RUN_PATIENCE` is lost.
    updated_at = models.DateTimeField(_("last news"), default=timezone.now)
    invoices_issued = models.PositiveIntegerField(_("invoices issued"), default=0)
    already_invoiced = models.PositiveIntegerField(
        _("families already invoiced"), default=0
    )
    # Family identifier → why it could not be invoiced (no bracket, no price).
    skipped = models.JSONField(_("families skipped"), default=dict, blank=True)
    late_meals = models.PositiveIntegerField(_("late meals billed"), default=0)
    total_amount = models.DecimalField(
        _("total amount"), max_digits=12, decimal_places=2, default=ZERO
    )
    failure = models.TextField(_("why it failed"), blank=True)

    objects = InvoicingRunQuerySet.as_manager()

    class Meta:
        verbose_name = _("invoicing run")
        verbose_name_plural = _("invoicing runs")
        ordering = ["-requested_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["period"],
                condition=Q(status__in=["queued", "running"]),
                name="invoicing_run_one_per_month_at_a_time",
            )
        ]

    def __str__(self) -> str:
        return f"{self.period:%Y-%m} ({self.get_status_display()})"

    @property
    def lost(self) -> bool:
        return (
            self.status in self.ON_ITS_WAY
            and self.updated_at <= timezone.now() - RUN_PATIENCE
        )
