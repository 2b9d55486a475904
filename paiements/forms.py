from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from factures.models import Invoice
from paiements.models import Payment

DESK_CHOICES = [
    (Payment.Method.CASH, Payment.Method.CASH.label),
    (Payment.Method.CARD_DESK, Payment.Method.CARD_DESK.label),
    (Payment.Method.CHEQUE, Payment.Method.CHEQUE.label),
]


class FamilyLookupForm(forms.Form):
    identifier = forms.CharField(label=_("Family identifier"), max_length=12)


class DeskPaymentForm(forms.Form):
    method = forms.ChoiceField(label=_("Method"), choices=DESK_CHOICES)
    amount = forms.DecimalField(
        label=_("Amount received"),
        max_digits=10,
        decimal_places=2,
        min_value=Decimal("0.01"),
        localize=True,
    )
    reference = forms.CharField(
        label=_("Reference (cheque number…)"), required=False, max_length=100
    )

    def __init__(self, *args: Any, invoices: list[Invoice], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.invoices = invoices
        for invoice in invoices:
            self.fields[f"invoice_{invoice.pk}"] = forms.DecimalField(
                label=f"{invoice.number}",
                required=False,
                min_value=Decimal("0"),
                max_digits=10,
                decimal_places=2,
                localize=True,
                initial=None,
            )

    def allocations(self) -> dict[int, Decimal]:
        return {
            invoice.pk: self.cleaned_data.get(f"invoice_{invoice.pk}") or Decimal("0")
            for invoice in self.invoices
        }

    def invoice_fields(self) -> list[tuple[Invoice, forms.BoundField]]:
        return [(invoice, self[f"invoice_{invoice.pk}"]) for invoice in self.invoices]


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3})
    )
