"""The staff pages of the families: the credentials letter of a family and
the download of a proof of address (wired in `familles.admin`)."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from familles.letters import credentials_letter_pdf
from familles.models import AddressChangeRequest, Family, ProofDocument
from familles.services import activation_code_pending
from familles.views import proof_response
from portail.admin_tools import StaffView


class CredentialsLetterView(StaffView):
    """The letter (PDF) that gives a family its identifier and its valid
    activation code, printed and handed over by an agent who may change
    the family."""

    model = Family
    permission = "familles.change_family"
    title = gettext_lazy("Credentials letter (PDF)")

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        family = get_object_or_404(Family, pk=pk)
        pending = next(
            (
                found
                for login in family.logins.filter(is_active=True).order_by("pk")
                if (found := activation_code_pending(user=login)) is not None
            ),
            None,
        )
        if pending is None:
            self.tell(
                _(
                    "This family has no valid activation code to print. Issue a "
                    "new one with the action « Create the portal login / issue a "
                    "new activation code »."
                ),
                messages.WARNING,
            )
            return redirect(reverse("admin:familles_family_change", args=[family.pk]))
        code, text = pending
        pdf = credentials_letter_pdf(
            family=family, code=text, expires_at=code.expires_at
        )
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = (
            f'inline; filename="identifiants-{family.identifier}.pdf"'
        )
        # The letter carries a secret: never keep it in a cache.
        response["Cache-Control"] = "no-store"
        return response


class ProofDownloadView(StaffView):
    """A proof of address sent with a change of address, downloaded by an
    agent who may see the address change requests (view or change, as the
    admin's list)."""

    model = AddressChangeRequest
    permission = (
        "familles.view_addresschangerequest",
        "familles.change_addresschangerequest",
    )

    def get(self, request: HttpRequest, pk: int) -> HttpResponseBase:
        return proof_response(get_object_or_404(ProofDocument, pk=pk))
