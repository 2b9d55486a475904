from typing import Any

from allauth.core.exceptions import ReauthenticationRequired
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from phonenumber_field.phonenumber import PhoneNumber

from familles.access import acting_user, family_required, recently_authenticated
from familles.enrolment import (
    enrolment_code_check,
    enrolment_code_pending,
    enrolment_code_send,
    enrolment_verified,
)
from familles.forms import (
    AddressForm,
    ChoosePasswordForm,
    ContactForm,
    EnrolmentCodeForm,
    PaperlessForm,
)
from familles.middleware import SESSION_ACTIVATION_CODE
from familles.models import (
    AddressChangeRequest,
    Family,
    Guardian,
    PrivateDocument,
    ProofDocument,
)
from familles.selectors import dossier_changes
from familles.services import (
    CONTACT_FIELDS,
    activation_complete,
    address_change_submit,
    family_paperless_set,
    guardian_contact_change,
    new_request_key,
)
from familles.staging import stage
from portail.pages import page_of

# What travels between *Suivant* and *Valider* is signed, never stored.
REVIEW_SALT = "familles.dossier-review"
REVIEW_MAX_AGE = 3600


def _sign(data: dict[str, Any], family: Family) -> str:
    """What travels from *Suivant* to *Valider*, for this family only."""
    return signing.dumps({**data, "family": family.pk}, salt=REVIEW_SALT, compress=True)


def _unsign(value: str, family: Family) -> dict[str, Any]:
    """The data signed for this family; 404 for anything else (a payload
    signed for another family would bring its staged documents)."""
    try:
        data = signing.loads(value, salt=REVIEW_SALT, max_age=REVIEW_MAX_AGE)
    except signing.BadSignature:
        raise Http404 from None
    if data.get("family") != family.pk:
        raise Http404
    return data


@family_required
def dossier(request: HttpRequest, *, family: Family) -> HttpResponse:
    return render(
        request,
        "familles/dossier.html",
        {
            "family": family,
            "guardians": family.guardians.all(),
            "children": family.children.all(),
            "current_bracket": family.current_bracket_label,
            "requests": page_of(
                request,
                family.address_requests.prefetch_related("proofs").order_by(
                    "-submitted_at", "-pk"
                ),
                per_page=5,
                param="demandes",
            ),
            "paperless_form": PaperlessForm(
                initial={"paperless": "1" if family.paperless else "0"}
            ),
        },
    )


@family_required
def dossier_history(request: HttpRequest, *, family: Family) -> HttpResponse:
    """Who changed what in the family's dossier, when, old and new: the
    family's own changes, and the canteen service's (not its agents'
    names)."""
    return render(
        request,
        "familles/dossier_history.html",
        {
            "changes": [
                (change, change.changed_by is not None and change.changed_by.family_id)
                for change in dossier_changes(family)
            ]
        },
    )


@family_required
def paperless(request: HttpRequest, *, family: Family) -> HttpResponse:
    if request.method != "POST":
        return redirect("familles:dossier")
    form = PaperlessForm(request.POST)
    if form.is_valid():
        try:
            changed = family_paperless_set(
                family=family,
                paperless=form.cleaned_data["paperless"],
                user=acting_user(request),
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect(f"{reverse('familles:dossier')}#factures")
        if changed:
            messages.success(
                request,
                _(
                    "Your choice is saved. It applies from the next monthly invoice; "
                    "invoices already issued stay as they are."
                ),
            )
        else:
            messages.info(request, _("This was already your choice."))
    else:
        messages.error(request, _("Choose paper or paperless invoices."))
    return redirect(f"{reverse('familles:dossier')}#factures")


def _guardian(family: Family, pk: int) -> Guardian:
    # Another family's guardian is not found (404), whatever the form says.
    return get_object_or_404(Guardian, pk=pk, family=family)


@family_required
def contact_edit(request: HttpRequest, pk: int, *, family: Family) -> HttpResponse:
    guardian = _guardian(family, pk)
    form = ContactForm(request.POST or None, guardian=guardian)
    if request.method == "POST" and form.is_valid():
        payload = _sign(
            {
                "guardian": guardian.pk,
                "values": form.values(),
                "key": new_request_key(),
            },
            family,
        )
        return redirect(
            f"{reverse('familles:contact_review')}?{urlencode({'p': payload})}"
        )
    return render(
        request, "familles/contact_form.html", {"form": form, "guardian": guardian}
    )


@family_required
def contact_review(request: HttpRequest, *, family: Family) -> HttpResponse:
    data = _unsign(request.POST.get("p") or request.GET.get("p", ""), family)
    guardian = _guardian(family, data["guardian"])
    form = ContactForm(data["values"], guardian=guardian)
    if not form.is_valid():
        # Valid when signed; changed since (by an agent, or an earlier Valider).
        messages.info(request, _("These details are already recorded."))
        return redirect("familles:dossier")
    changes = form.changes()
    if request.method == "POST":
        if "email" in changes and not recently_authenticated(request):
            # allauth asks for the password, then replays this very request.
            raise ReauthenticationRequired
        try:
            guardian_contact_change(
                guardian=guardian,
                values=data["values"],
                user=acting_user(request),
                request_key=data["key"],
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("familles:contact_edit", pk=guardian.pk)
        text = _("Your contact details are updated.")
        if "email" in changes and changes["email"][1]:
            text += " " + _(
                "We sent a link to %(email)s: follow it to confirm the address. Until "
                "then, password reset links are not sent there."
            ) % {"email": changes["email"][1]}
        messages.success(request, text)
        return redirect("familles:dossier")
    labels = {name: form.fields[name].label for name in CONTACT_FIELDS}
    return render(
        request,
        "familles/contact_review.html",
        {
            "guardian": guardian,
            "rows": [
                (
                    labels[field],
                    _shown(field, old),
                    _shown(field, new),
                    field in changes,
                )
                for field in CONTACT_FIELDS
                for old, new in [
                    changes.get(field, (getattr(guardian, field) or "",) * 2)
                ]
            ],
            "payload": request.GET.get("p", ""),
            "email_change": "email" in changes,
        },
    )


def _shown(field: str, value: object) -> str:
    """Phone numbers as people write them (0690 12 34 56)."""
    if field.startswith("phone") and value:
        try:
            return PhoneNumber.from_string(str(value)).as_national
        except Exception:  # noqa: BLE001 - shown as stored if unreadable
            return str(value)
    return str(value or "")


@family_required
def address_edit(request: HttpRequest, *, family: Family) -> HttpResponse:
    if family.address_requests.filter(
        status=AddressChangeRequest.Status.PENDING
    ).exists():
        messages.info(
            request,
            _("A change of address is already waiting for the canteen service."),
        )
        return redirect("familles:dossier")
    form = AddressForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        address = {
            field: form.cleaned_data[field]
            for field in ("address_line1", "address_line2", "postal_code", "city")
        }
        payload = _sign(
            {
                "address": address,
                "staged": stage(form.cleaned_data["proofs"], family_id=family.pk),
                "key": new_request_key(),
            },
            family,
        )
        return redirect(
            f"{reverse('familles:address_review')}?{urlencode({'p': payload})}"
        )
    return render(
        request, "familles/address_form.html", {"form": form, "family": family}
    )


@family_required
def address_review(request: HttpRequest, *, family: Family) -> HttpResponse:
    data = _unsign(request.POST.get("p") or request.GET.get("p", ""), family)
    if request.method == "POST":
        try:
            address_change_submit(
                family=family,
                address=data["address"],
                staged=data["staged"],
                user=acting_user(request),
                request_key=data["key"],
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("familles:address_edit")
        messages.success(
            request,
            _(
                "Your new address is sent. The canteen service checks the proof "
                "and tells you by e-mail; meanwhile your current address stays."
            ),
        )
        return redirect("familles:dossier")
    lines = [data["address"][f] for f in ("address_line1", "address_line2")]
    lines.append(f"{data['address']['postal_code']} {data['address']['city']}")
    return render(
        request,
        "familles/address_review.html",
        {
            "family": family,
            "new_address": "\n".join(line for line in lines if line),
            "staged": data["staged"],
            "payload": request.GET.get("p", ""),
        },
    )


@family_required
def proof_download(
    request: HttpRequest, pk: int, *, family: Family
) -> HttpResponseBase:
    proof = get_object_or_404(ProofDocument, pk=pk, request__family=family)
    return proof_response(proof)


def proof_response(proof: PrivateDocument) -> FileResponse:
    response = FileResponse(
        proof.file.open("rb"),
        as_attachment=True,
        filename=proof.original_name,
        content_type=proof.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def activation(request: HttpRequest) -> HttpResponse:
    """First login: the parent replaces the activation code by a password."""
    code_id = request.session.get(SESSION_ACTIVATION_CODE)
    if code_id is None:
        return redirect("home")
    form = ChoosePasswordForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            activation_complete(
                user=acting_user(request),
                code_id=code_id,
                password=form.cleaned_data["new_password1"],
            )
        except ValidationError as error:
            logout(request)
            messages.error(request, " ".join(error.messages))
            return redirect(settings.LOGIN_URL)
        del request.session[SESSION_ACTIVATION_CODE]
        update_session_auth_hash(request, acting_user(request))
        messages.success(
            request,
            _(
                "Your password is saved. From now on, log in with your family "
                "identifier and this password."
            ),
        )
        return redirect("home")
    return render(request, "familles/activation.html", {"form": form})


@login_required
def staff_enrolment(request: HttpRequest) -> HttpResponse:
    """Before a staff member sets up their authenticator app, the session
    proves it reads their mailbox (`familles.enrolment`)."""
    user = acting_user(request)
    if not user.is_staff:
        raise Http404
    if Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        return redirect("admin:index")
    next_url = request.GET.get("next", "")
    activate = reverse("mfa_activate_totp")
    if next_url.startswith("/") and not next_url.startswith("//"):
        activate += "?" + urlencode({"next": next_url})
    if enrolment_verified(request):
        return redirect(activate)
    form = EnrolmentCodeForm(request.POST if "code" in request.POST else None)
    if request.method == "POST" and "resend" in request.POST:
        if enrolment_code_send(request):
            messages.success(request, _("A new code is sent."))
        else:
            messages.info(request, _("Wait a minute before asking for a new code."))
        return redirect(request.get_full_path())
    if form.is_bound and form.is_valid():
        if enrolment_code_check(request, form.cleaned_data["code"]):
            messages.success(request, _("Code accepted: set up your authenticator."))
            return redirect(activate)
        form.add_error(
            "code",
            _("This code is wrong or no longer valid.")
            if enrolment_code_pending(request)
            else _("This code is no longer valid: ask for a new one."),
        )
    elif not form.is_bound and user.email and not enrolment_code_pending(request):
        enrolment_code_send(request)
    return render(
        request,
        "familles/staff_enrolment.html",
        {"form": form, "email": user.email, "pending": enrolment_code_pending(request)},
    )
