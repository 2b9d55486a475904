from typing import Any

from allauth.account.forms import LoginForm as AllauthLoginForm
from allauth.account.forms import ResetPasswordForm as AllauthResetPasswordForm
from allauth.account.models import EmailAddress
from django import forms
from django.conf import settings
from django.contrib.auth.forms import SetPasswordForm
from django.utils.translation import gettext_lazy as _
from phonenumber_field.formfields import PhoneNumberField

from familles.models import Guardian
from familles.services import CONTACT_FIELDS
from familles.uploads import CheckedFile, check_document


class LoginForm(AllauthLoginForm):
    """Allauth's login form, labelled for families: identifier + password (or
    the activation code received on the credentials letter)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        login = self.fields["login"]
        login.label = _("Identifier")
        login.help_text = _(
            "Families: your family identifier (for example PB-004217), "
            "printed at the bottom of your invoices."
        )
        login.widget.attrs.update(
            {"placeholder": "", "autocapitalize": "characters", "spellcheck": "false"}
        )
        password = self.fields["password"]
        password.label = _("Password")
        password.help_text = _(
            "First login: type the activation code printed on the letter you "
            "received from the canteen service."
        )
        password.widget.attrs.update({"placeholder": ""})


class ResetPasswordForm(AllauthResetPasswordForm):
    """Reset links go only to addresses that are confirmed: entered by an
    agent, or confirmed by the parent through the link sent to them."""

    def clean_email(self) -> str:
        email = super().clean_email()
        self.users: list[Any] = [
            user
            for user in self.users
            if EmailAddress.objects.filter(
                user=user, email__iexact=email, verified=True
            ).exists()
        ]
        return email


class ChoosePasswordForm(SetPasswordForm):
    """The personal password chosen at first login (Django's validators)."""

    new_password1 = forms.CharField(
        label=_("New password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        strip=False,
        help_text=_(
            "At least 8 characters. A long sentence is easy to remember and hard "
            "to guess. Very common passwords are refused."
        ),
    )
    new_password2 = forms.CharField(
        label=_("New password (again)"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class ContactForm(forms.Form):
    """A guardian's e-mail and phone numbers (French numbers by default)."""

    email = forms.EmailField(label=_("E-mail"), required=False)
    phone_mobile = PhoneNumberField(
        label=_("Mobile phone"), required=False, region="GP"
    )
    phone_home = PhoneNumberField(label=_("Home phone"), required=False, region="GP")
    phone_work = PhoneNumberField(label=_("Work phone"), required=False, region="GP")

    def __init__(self, *args: Any, guardian: Guardian, **kwargs: Any) -> None:
        self.guardian = guardian
        kwargs.setdefault(
            "initial",
            {field: getattr(guardian, field) or "" for field in CONTACT_FIELDS},
        )
        super().__init__(*args, **kwargs)
        for name in ("phone_mobile", "phone_home", "phone_work"):
            self.fields[name].widget.attrs.update(
                {"type": "tel", "autocomplete": "tel"}
            )
            self.fields[name].help_text = _("For example 0690 12 34 56.")
        self.fields["email"].widget.attrs.update({"autocomplete": "email"})

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        if not any(data.get(field) for field in CONTACT_FIELDS):
            raise forms.ValidationError(
                _("Give at least one way to reach you: an e-mail or a phone number.")
            )
        if not self.changes():
            raise forms.ValidationError(_("You have not changed anything."))
        return data

    def values(self) -> dict[str, str]:
        return {
            field: (
                self.cleaned_data[field].as_e164
                if field.startswith("phone") and self.cleaned_data[field]
                else str(self.cleaned_data[field] or "")
            )
            for field in CONTACT_FIELDS
        }

    def changes(self) -> dict[str, tuple[str, str]]:
        current = {
            field: str(getattr(self.guardian, field) or "") for field in CONTACT_FIELDS
        }
        return {
            field: (current[field], new)
            for field, new in self.values().items()
            if current[field] != new
        }


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class DocumentsField(forms.FileField):
    """Several documents, each checked by content (PDF, JPEG, PNG) and size."""

    widget = MultipleFileInput

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget", MultipleFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"})
        )
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[CheckedFile]:
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        files = [super(DocumentsField, self).clean(item, initial) for item in files]
        if self.required and not files:
            raise forms.ValidationError(_("Attach at least one proof of address."))
        limit = settings.PORTAIL_MAX_UPLOAD_FILES
        if len(files) > limit:
            raise forms.ValidationError(
                _("Attach at most %(limit)s documents.") % {"limit": limit}
            )
        checked, errors = [], []
        for upload in files:
            try:
                checked.append(check_document(upload))
            except forms.ValidationError as error:
                errors.extend(error.messages)
        if errors:
            raise forms.ValidationError(errors)
        return checked


class AddressForm(forms.Form):
    address_line1 = forms.CharField(label=_("Address"), max_length=200)
    address_line2 = forms.CharField(
        label=_("Address (continued)"), max_length=200, required=False
    )
    postal_code = forms.RegexField(
        label=_("Postal code"),
        regex=r"^\d{5}$",
        error_messages={"invalid": _("A postal code has five digits, e.g. 97170.")},
    )
    city = forms.CharField(label=_("City"), max_length=100)
    proofs = DocumentsField(
        label=_("Proof of address"),
        help_text=_(
            "A recent electricity, water or phone bill… PDF, JPEG or PNG, "
            "at most 5 MB each, several files allowed."
        ),
    )


class PaperlessForm(forms.Form):
    paperless = forms.TypedChoiceField(
        label=_("How do you want to receive your invoices?"),
        choices=[
            ("1", _("Paperless: by e-mail and on the portal")),
            ("0", _("On paper, by post")),
        ],
        coerce=lambda value: value == "1",
        widget=forms.RadioSelect,
    )


class EnrolmentCodeForm(forms.Form):
    """The six digits e-mailed to a staff member before they set up their
    authenticator app (`familles.enrolment`)."""

    code = forms.CharField(
        label=_("Code received by e-mail"),
        max_length=12,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}
        ),
    )

    def clean_code(self) -> str:
        code = "".join(self.cleaned_data["code"].split())
        if not (len(code) == 6 and code.isascii() and code.isdigit()):
            raise forms.ValidationError(_("The code is six digits."))
        return code
