from decimal import Decimal
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from factures.models import Invoice
from paiements.models import Payment, Refund

DESK_CHOICES = [
    (Payment.Method.CASH, Payment.Method.CASH.label),
    (Payment.Method.CARD_DESK, Payment.Method.CARD_DESK.label),
    (Payment.Method.CHEQUE, Payment.Method.CHEQUE.label),
]


class FamilyLookupForm(forms.Form):
    q = forms.CharField(
        label=_("Family"),
        max_length=200,
        help_text=_(
            "Identifier, a guardian's or a child's name, a phone number or an "
            "e-mail address."
        ),
    )


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
    keep_as_credit = forms.BooleanField(
        label=_("Keep what is left over as the family's credit"), required=False
    )
    credit_reason = forms.CharField(
        label=_("Why the money is kept as credit"),
        required=False,
        max_length=200,
        help_text=_("For example: advance on next month's meals."),
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
                widget=forms.TextInput(
                    attrs={
                        "inputmode": "decimal",
                        "data-due": f"{invoice.due:.2f}",
                        "data-disputed": (
                            "1" if invoice.state == Invoice.Status.DISPUTED else "0"
                        ),
                        "class": "desk-allocation",
                    }
                ),
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if (
            cleaned.get("keep_as_credit")
            and not cleaned.get("credit_reason", "").strip()
        ):
            self.add_error(
                "credit_reason", _("Give the reason for keeping the money as credit.")
            )
        return cleaned

    def allocations(self) -> dict[int, Decimal] | None:
        """The amounts the agent typed; None when every field was left
        empty: the service then allocates oldest first."""
        given = {
            invoice.pk: self.cleaned_data.get(f"invoice_{invoice.pk}")
            for invoice in self.invoices
        }
        if all(value is None for value in given.values()):
            return None
        return {pk: value or Decimal("0") for pk, value in given.items()}

    def credit_reason_given(self) -> str:
        if not self.cleaned_data.get("keep_as_credit"):
            return ""
        return self.cleaned_data.get("credit_reason", "").strip()

    def invoice_fields(self) -> list[tuple[Invoice, forms.BoundField]]:
        return [(invoice, self[f"invoice_{invoice.pk}"]) for invoice in self.invoices]


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3})
    )


class CreditAllocationForm(forms.Form):
    """The family's credit spread over its unpaid invoices; each field
    starts with the oldest-first proposal."""

    def __init__(
        self,
        *args: Any,
        invoices: list[Invoice],
        proposal: dict[int, Decimal],
        **kwargs: Any,
    ) -> None:
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
                initial=proposal.get(invoice.pk),
            )

    def allocations(self) -> dict[int, Decimal]:
        return {
            invoice.pk: self.cleaned_data.get(f"invoice_{invoice.pk}") or Decimal("0")
            for invoice in self.invoices
        }

    def invoice_fields(self) -> list[tuple[Invoice, forms.BoundField]]:
        return [(invoice, self[f"invoice_{invoice.pk}"]) for invoice in self.invoices]


class RefundForm(forms.Form):
    method = forms.ChoiceField(label=_("How the money is given back"))
    amount = forms.DecimalField(
        label=_("Amount refunded"),
        max_digits=10,
        decimal_places=2,
        min_value=Decimal("0.01"),
        localize=True,
    )
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=1000,
        error_messages={"required": _("Give the reason for the refund.")},
    )
    reference = forms.CharField(
        label=_("Reference (cheque number…)"), required=False, max_length=100
    )
    key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(
        self, *args: Any, card: bool, treasury: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        methods = [Refund.Method.CASH, Refund.Method.CHEQUE]
        if card:
            methods.insert(0, Refund.Method.PROVIDER)
        if treasury:
            # Made by the Treasury, outside the portal: recorded here with
            # its reference.
            methods.insert(0, Refund.Method.TREASURY)
            self.fields["reference"].label = _(
                "Reference (cheque number, the Treasury's mandate number…)"
            )
        method = cast(forms.ChoiceField, self.fields["method"])
        method.choices = [(m.value, m.label) for m in methods]
