from allauth.account.forms import LoginForm as AllauthLoginForm
from django import forms
from django.contrib.auth.forms import SetPasswordForm
from django.utils.translation import gettext_lazy as _


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
