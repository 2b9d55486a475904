"""Reports (*signalements*): a family tells the canteen service about a
problem, points at an invoice or a child, and follows the answers. Above
invoices and payments: a report can dispute an invoice, credit it, or start
the reconciliation of card payments."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from familles.models import Child, Family, PrivateDocument


class ReportQuerySet(models.QuerySet["Report"]):
    def open(self) -> ReportQuerySet:
        """Reports still waiting for an answer that closes them."""
        return self.exclude(status__in=Report.CLOSED)


class Report(models.Model):
    """A *signalement*: a family tells the canteen service about a problem;
    agents answer and close it. Some kinds act on money (see
    `signalements.services.report_submit` and `report_update`)."""

    class Kind(models.TextChoices):
        MISSING_INVOICE = (
            "missing_invoice",
            _("The invoice of the month does not appear"),
        )
        WRONG_AMOUNT = "wrong_amount", _("The amount of an invoice is wrong")
        PAID_UNPAID = "paid_unpaid", _("An invoice shows unpaid although I paid it")
        WRONG_BRACKET = "wrong_bracket", _("My tariff bracket is wrong")
        WRONG_ATTENDANCE = (
            "wrong_attendance",
            _("The number of meals or sessions is wrong"),
        )
        REFUND = "refund", _("Sessions not attended: I ask for a refund")
        SEVERAL_ACCOUNTS = "several_accounts", _("My family has several accounts")
        OTHER = "other", _("Something else")

    class Status(models.TextChoices):
        NEW = "new", _("new")
        IN_PROGRESS = "in_progress", _("in progress")
        RESOLVED = "resolved", _("resolved")
        REJECTED = "rejected", _("rejected")

    CLOSED = (Status.RESOLVED, Status.REJECTED)
    # Kinds that question what an invoice asks for (its amount, bracket or
    # attendance): while such a report is open, the invoice it names is set
    # aside, not payable online and not counted towards the block (payment
    # rule 5). The service, the report form and the help page read it here.
    FREEZING_KINDS = (Kind.WRONG_AMOUNT, Kind.WRONG_BRACKET, Kind.WRONG_ATTENDANCE)

    reference = models.CharField(
        _("reference"), max_length=20, unique=True, editable=False
    )
    family = models.ForeignKey(
        Family,
        verbose_name=_("family"),
        on_delete=models.PROTECT,
        related_name="reports",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    invoice = models.ForeignKey(
        "factures.Invoice",
        verbose_name=_("invoice"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reports",
    )
    child = models.ForeignKey(
        Child,
        verbose_name=_("child"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reports",
    )
    date_from = models.DateField(_("from"), null=True, blank=True)
    date_to = models.DateField(_("to"), null=True, blank=True)
    message = models.TextField(_("message"))
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.NEW
    )
    created_at = models.DateTimeField(_("sent on"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sent by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_reports",
        limit_choices_to={"is_staff": True},
    )
    closed_at = models.DateTimeField(
        pgettext_lazy("report", "closed on"), null=True, blank=True
    )
    dispute = models.OneToOneField(
        "factures.InvoiceDispute",
        verbose_name=_("dispute"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="report",
    )
    request_key = models.CharField(max_length=64, unique=True, editable=False)

    objects = ReportQuerySet.as_manager()
    # Set by the family's list of reports: the last answer it was given.
    last_answer: ReportUpdate | None

    class Meta:
        db_table = "familles_report"  # made by the families app, kept
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_open(self) -> bool:
        return self.status not in self.CLOSED

    @property
    def freezes_invoice(self) -> bool:
        """An open report of a freezing kind that names an invoice: the
        invoice is under dispute until the report is closed (unless nothing
        is left to pay on it, see `report_submit`)."""
        return (
            self.is_open
            and self.kind in self.FREEZING_KINDS
            and self.invoice_id is not None
        )

    @property
    def sets_invoice_aside(self) -> bool:
        """What the family is told: its invoice is set aside right now."""
        return (
            self.freezes_invoice
            and self.dispute is not None
            and self.dispute.closed_at is None
        )

    @classmethod
    def freezing_kind_labels(cls) -> list[str]:
        """The freezing kinds as the family reads them on the form."""
        return [str(cls.Kind(kind).label) for kind in cls.FREEZING_KINDS]


class ReportAttachment(PrivateDocument):
    FOLDER = "signalements"

    report = models.ForeignKey(
        Report,
        verbose_name=_("report"),
        on_delete=models.PROTECT,
        related_name="attachments",
    )

    class Meta(PrivateDocument.Meta):
        db_table = "familles_reportattachment"
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")


class ReportUpdate(models.Model):
    """An agent's answer and/or change of status; the family sees them all."""

    report = models.ForeignKey(
        Report,
        verbose_name=_("report"),
        on_delete=models.PROTECT,
        related_name="updates",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("date"), default=timezone.now)
    message = models.TextField(_("answer"), blank=True)
    status_before = models.CharField(
        _("previous status"), max_length=12, choices=Report.Status.choices
    )
    status_after = models.CharField(
        _("new status"), max_length=12, choices=Report.Status.choices
    )

    class Meta:
        db_table = "familles_reportupdate"
        verbose_name = _("report update")
        verbose_name_plural = _("report updates")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.report} – {timezone.localtime(self.created_at):%d/%m/%Y}"
