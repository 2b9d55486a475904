"""The report form and the agents' answer form."""

from typing import Any, cast

from django import forms
from django.utils import formats
from django.utils.translation import gettext_lazy as _

from factures.models import Invoice
from familles.forms import DocumentsField
from familles.models import Child, Family
from signalements.models import Report
from signalements.services import REPORT_KINDS_NEEDING_INVOICE


class ReportForm(forms.Form):
    """A family's report; which details it needs depends on its kind."""

    kind = forms.ChoiceField(
        label=_("What is the problem?"),
        choices=Report.Kind.choices,
        widget=forms.RadioSelect,
    )
    invoice: forms.ModelChoiceField[Invoice] = forms.ModelChoiceField(
        label=_("Invoice concerned"),
        queryset=Invoice.objects.none(),
        required=False,
        empty_label="—",
    )
    child: forms.ModelChoiceField[Child] = forms.ModelChoiceField(
        label=_("Child concerned"),
        queryset=Child.objects.none(),
        required=False,
        empty_label="—",
    )
    date_from = forms.DateField(
        label=_("From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("For sessions not attended or a wrong count: the days concerned."),
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    message = forms.CharField(
        label=_("Your message"),
        max_length=3000,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    attachments = DocumentsField(
        label=_("Documents (optional)"),
        required=False,
        help_text=_("PDF, JPEG or PNG, at most 5 MB each: a certificate, a receipt…"),
    )

    def __init__(self, *args: Any, family: Family, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        invoice = cast(forms.ModelChoiceField, self.fields["invoice"])
        invoice.queryset = family.invoices.order_by("-period")
        invoice.label_from_instance = lambda invoice: (  # type: ignore[method-assign, assignment]
            f"{invoice.number} – {formats.date_format(invoice.period, 'F Y')}"
        )
        cast(
            forms.ModelChoiceField, self.fields["child"]
        ).queryset = family.children.all()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        if kind in REPORT_KINDS_NEEDING_INVOICE and not data.get("invoice"):
            self.add_error("invoice", _("Choose the invoice concerned."))
        if kind == Report.Kind.REFUND:
            if not data.get("child"):
                self.add_error("child", _("Choose the child concerned."))
            if not data.get("date_from"):
                self.add_error("date_from", _("Give the first day not attended."))
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("The last day comes before the first."))
        return data


class ReportAnswerForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=Report.Status.choices)
    message = forms.CharField(
        label=_("Answer to the family"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class ReportReplyForm(forms.Form):
    """The family's answer in a report's thread."""

    message = forms.CharField(
        label=_("Your answer"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
