import datetime
from decimal import Decimal

from django import forms
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from factures.periods import month_start, previous_month
from factures.services import CreditLine


def recent_months(count: int = 12) -> list[tuple[str, str]]:
    """The last `count` finished months, newest first, as form choices."""
    month = previous_month(timezone.localdate())
    choices = []
    for _i in range(count):
        choices.append(
            (month.strftime("%Y-%m"), formats.date_format(month, "F Y").capitalize())
        )
        month = previous_month(month)
    return choices


class MonthForm(forms.Form):
    month = forms.ChoiceField(label=_("Month"), choices=recent_months)

    def clean_month(self) -> datetime.date:
        year, month = self.cleaned_data["month"].split("-")
        return datetime.date(int(year), int(month), 1)


class AttendanceImportForm(forms.Form):
    month = forms.ChoiceField(
        label=_("Month"),
        choices=lambda: [
            (
                month_start(timezone.localdate()).strftime("%Y-%m"),
                formats.date_format(timezone.localdate(), "F Y").capitalize(),
            ),
            *recent_months(),
        ],
    )
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "Columns: identifiant_famille ; prenom ; nom ; date ; activite "
            "(UTF-8, one line per child and day)."
        ),
    )

    def clean_month(self) -> datetime.date:
        year, month = self.cleaned_data["month"].split("-")
        return datetime.date(int(year), int(month), 1)


class CreditNoteForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3})
    )
    cancel = forms.BooleanField(
        label=_("Cancel the whole invoice"),
        required=False,
        help_text=_(
            "Credits everything not yet credited; the lines below are ignored."
        ),
    )


class CreditLineForm(forms.Form):
    label = forms.CharField(label=_("Label"), max_length=200)
    quantity = forms.IntegerField(
        label=_("Quantity"), min_value=1, max_value=999, initial=1
    )
    unit_price = forms.DecimalField(
        label=_("Unit price"),
        max_digits=10,
        decimal_places=2,
        min_value=Decimal("0.01"),
        localize=True,  # agents type 1,80
    )


CreditLineFormSet = forms.formset_factory(CreditLineForm, extra=3, max_num=20)


def credit_lines(formset: forms.BaseFormSet) -> list[CreditLine]:
    """The lines of a valid `CreditLineFormSet`, its empty rows left out."""
    return [
        CreditLine(
            label=row["label"], quantity=row["quantity"], unit_price=row["unit_price"]
        )
        for row in formset.cleaned_data
        if row
    ]
