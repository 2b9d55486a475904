"""The dossier: guided contact edits, moving house with proofs, paperless."""

import re
import urllib.parse

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from familles.models import AddressChangeRequest, Family, Guardian
from familles.selectors import dossier_changes
from familles.services import address_change_refuse, address_change_validate
from tests.factories import PARENT_PASSWORD
from tests.helpers import login

# Real transactions: the e-mails leave when the change is committed.
pytestmark = pytest.mark.django_db(transaction=True)

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
EXE = b"MZ\x90\x00" + b"\x00" * 64


@pytest.fixture
def logged_in(client, parent):  # noqa: ANN001, ANN201
    login(client, parent.family.identifier, PARENT_PASSWORD)
    return client


@pytest.fixture
def guardian(family):  # noqa: ANN001, ANN201
    return family.guardians.get()


def contact_form(client, guardian, **values):  # noqa: ANN001, ANN003, ANN201
    data = {
        "email": guardian.email,
        "phone_mobile": "0690 12 34 56",
        "phone_home": "",
        "phone_work": "",
    }
    data.update(values)
    return client.post(reverse("familles:contact_edit", args=[guardian.pk]), data)


def changed_fields(family) -> list[str]:  # noqa: ANN001
    return [change.field for change in dossier_changes(family) if change.field]


def payload_of(response) -> str:  # noqa: ANN001
    return urllib.parse.parse_qs(urllib.parse.urlparse(response.url).query)["p"][0]


def test_changing_a_phone_goes_through_a_review_and_saves_only_on_validate(
    logged_in, guardian
):
    step1 = contact_form(logged_in, guardian, phone_mobile="0690 98 76 54")

    assert step1.status_code == 302
    guardian.refresh_from_db()
    assert str(guardian.phone_mobile) == "+590690123456"  # nothing saved yet
    assert changed_fields(guardian.family) == []
    review = logged_in.get(step1.url)
    assert (
        "0690 98 76 54" in review.text.replace("+590 690", "0690")
        or "+590690987654" in review.text
    )
    assert "Valider" in review.text

    done = logged_in.post(
        reverse("familles:contact_review"), {"p": payload_of(step1)}, follow=True
    )

    guardian.refresh_from_db()
    assert str(guardian.phone_mobile) == "+590690987654"
    (change,) = dossier_changes(guardian.family)
    assert (change.guardian, change.field, str(change.old), str(change.new)) == (
        guardian,
        "phone_mobile",
        "+590690123456",
        "+590690987654",
    )
    assert change.changed_by.family == guardian.family
    assert "Vos coordonnées sont mises à jour." in done.text
    assert any("modifiées" in m.subject for m in mail.outbox)


def test_validating_twice_records_one_change(logged_in, guardian):
    step1 = contact_form(logged_in, guardian, phone_home="0590 11 22 33")
    payload = payload_of(step1)

    logged_in.post(reverse("familles:contact_review"), {"p": payload})
    second = logged_in.post(
        reverse("familles:contact_review"), {"p": payload}, follow=True
    )

    assert changed_fields(guardian.family) == ["phone_home"]
    assert second.status_code == 200


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"phone_mobile": "12"}, "numéro de téléphone"),
        ({"email": "pas-une-adresse"}, "adresse de courriel valide"),
        ({"email": "", "phone_mobile": ""}, "au moins un moyen de vous joindre"),
        ({}, "Vous n'avez rien modifié."),
    ],
)
def test_bad_contact_input_is_explained_and_changes_nothing(
    logged_in, guardian, values, message
):
    response = contact_form(logged_in, guardian, **values)

    assert response.status_code == 200
    assert message in response.text.replace("&#x27;", "'")
    assert changed_fields(guardian.family) == []


def test_a_new_email_needs_the_password_again_and_a_confirmation(
    client, parent, guardian
):
    login(client, parent.family.identifier, PARENT_PASSWORD)
    # The login happened long ago: simulate an old authentication record.
    session = client.session
    for record in session["account_authentication_methods"]:
        record["at"] -= 3600
    session.save()
    step1 = contact_form(client, guardian, email="nouvelle@example.org")

    asked = client.post(reverse("familles:contact_review"), {"p": payload_of(step1)})

    assert asked.status_code == 302 and "reauthenticate" in asked.url
    guardian.refresh_from_db()
    assert guardian.email == "josiane@example.org"
    replayed = client.post(asked.url, {"password": PARENT_PASSWORD}, follow=True)
    guardian.refresh_from_db()
    assert guardian.email == "nouvelle@example.org"
    assert "nous avons envoyé un lien" in replayed.text.lower()
    new_address = EmailAddress.objects.get(user=parent, email="nouvelle@example.org")
    assert new_address.verified is False
    # Told at the old address, and a link at the new one.
    assert any("josiane@example.org" in m.to for m in mail.outbox)
    link_mail = next(
        m
        for m in mail.outbox
        if m.to == ["nouvelle@example.org"] and "Confirmez" in m.subject
    )
    # Not usable for password resets until confirmed.
    mail.outbox.clear()
    client.post(reverse("account_reset_password"), {"email": "nouvelle@example.org"})
    assert not any("/password/reset/key/" in m.body for m in mail.outbox)
    key_url = re.search(r"http://[^\s]+(/compte/[^\s]+)", link_mail.body).group(1)
    client.post(key_url)
    assert EmailAddress.objects.get(pk=new_address.pk).verified is True


def test_another_familys_guardian_cannot_be_edited(logged_in, other_family):
    stranger = other_family.guardians.get()

    response = contact_form(logged_in, stranger, phone_mobile="0690 00 00 01")

    assert response.status_code == 404
    assert (
        logged_in.post(
            reverse("familles:contact_review"), {"p": "forged-payload"}
        ).status_code
        == 404
    )


def test_a_forged_review_cannot_reach_another_familys_guardian(logged_in, other_family):
    from django.core import signing

    from familles.views import REVIEW_SALT

    stranger = other_family.guardians.get()
    payload = signing.dumps(
        {"guardian": stranger.pk, "values": {"email": "x@example.org"}, "key": "k"},
        salt=REVIEW_SALT,
        compress=True,
    )

    response = logged_in.post(reverse("familles:contact_review"), {"p": payload})

    assert response.status_code == 404
    assert Guardian.objects.get(pk=stranger.pk).email == "frantz@example.org"


def address_data(*files):  # noqa: ANN002, ANN201
    return {
        "address_line1": "5 rue des Flamboyants",
        "address_line2": "",
        "postal_code": "97170",
        "city": "Petit-Bourg",
        "proofs": list(files),
    }


def test_moving_house_with_a_proof_waits_for_the_agent(logged_in, family, staff):
    step1 = logged_in.post(
        reverse("familles:address_edit"),
        address_data(
            SimpleUploadedFile("facture-edf.pdf", PDF),
            SimpleUploadedFile("photo.png", PNG),
        ),
    )
    assert step1.status_code == 302, step1.context["form"].errors
    assert AddressChangeRequest.objects.count() == 0  # nothing before Valider
    review = logged_in.get(step1.url)
    assert "5 rue des Flamboyants" in review.text and "facture-edf.pdf" in review.text

    logged_in.post(reverse("familles:address_review"), {"p": payload_of(step1)})
    logged_in.post(
        reverse("familles:address_review"), {"p": payload_of(step1)}
    )  # twice

    request = AddressChangeRequest.objects.get()
    assert request.status == "pending"
    assert [p.content_type for p in request.proofs.all()] == [
        "application/pdf",
        "image/png",
    ]
    family.refresh_from_db()
    assert family.address_line1 == "12 rue Schoelcher"  # unchanged until validated
    dossier = logged_in.get(reverse("familles:dossier")).text
    assert "En attente" in dossier
    assert any("bien reçu" in m.subject for m in mail.outbox)

    address_change_validate(request=request, agent=staff)

    family.refresh_from_db()
    assert family.address_line1 == "5 rue des Flamboyants"
    moved = [c for c in dossier_changes(family) if c.field == "address_line1"]
    assert [(c.old, c.new, c.changed_by) for c in moved] == [
        ("12 rue Schoelcher", "5 rue des Flamboyants", staff)
    ]
    assert any("enregistrée" in m.subject for m in mail.outbox)
    assert "Validée" in logged_in.get(reverse("familles:dossier")).text


def test_a_refusal_carries_its_reason_to_the_family(logged_in, family, staff):
    step1 = logged_in.post(
        reverse("familles:address_edit"), address_data(SimpleUploadedFile("a.pdf", PDF))
    )
    logged_in.post(reverse("familles:address_review"), {"p": payload_of(step1)})
    request = AddressChangeRequest.objects.get()

    with pytest.raises(ValidationError, match="Indiquez le motif du refus"):
        address_change_refuse(request=request, agent=staff, reason=" ")
    address_change_refuse(request=request, agent=staff, reason="Justificatif illisible")

    assert "Justificatif illisible" in mail.outbox[-1].body
    assert "Justificatif illisible" in logged_in.get(reverse("familles:dossier")).text
    family.refresh_from_db()
    assert family.address_line1 == "12 rue Schoelcher"


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (
            SimpleUploadedFile("virus.pdf", EXE),
            "n'est pas un document PDF, JPEG ou PNG",
        ),
        (
            SimpleUploadedFile("enorme.pdf", PDF + b"0" * (20 * 1024 * 1024)),
            "dépasse 5 Mo",
        ),
        (SimpleUploadedFile("vide.pdf", b""), "vide"),
    ],
)
def test_bad_proofs_are_refused_with_a_message(logged_in, upload, message):
    response = logged_in.post(reverse("familles:address_edit"), address_data(upload))

    assert response.status_code == 200
    assert message in response.text.replace("&#x27;", "'").replace("\xa0", " ")
    assert AddressChangeRequest.objects.count() == 0


def test_a_proof_is_required_and_the_postal_code_checked(logged_in):
    data = address_data()
    data["postal_code"] = "971"

    response = logged_in.post(reverse("familles:address_edit"), data)

    text = response.text.replace("&#x27;", "'")
    assert "Joignez au moins un justificatif de domicile." in text
    assert "cinq chiffres" in text


def test_proofs_are_served_to_their_family_only(
    client, logged_in, parent, other_parent
):
    step1 = logged_in.post(
        reverse("familles:address_edit"), address_data(SimpleUploadedFile("a.pdf", PDF))
    )
    logged_in.post(reverse("familles:address_review"), {"p": payload_of(step1)})
    proof = AddressChangeRequest.objects.get().proofs.get()
    url = reverse("familles:proof_download", args=[proof.pk])

    mine = logged_in.get(url)
    assert b"".join(mine.streaming_content).startswith(b"%PDF")
    assert mine["X-Content-Type-Options"] == "nosniff"
    client.force_login(other_parent)
    assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302
    assert not proof.file.name.startswith("/")  # no public URL: private storage


def test_the_family_chooses_paperless_and_the_next_invoice_follows(logged_in, family):
    response = logged_in.post(
        reverse("familles:paperless"), {"paperless": "1"}, follow=True
    )

    family = Family.objects.get(pk=family.pk)
    assert family.paperless and family.paperless_changed_at is not None
    assert "prochaine facture mensuelle" in response.text
    (change,) = [c for c in dossier_changes(family) if c.field == "paperless"]
    assert (change.old, change.new, change.guardian) == (False, True, None)


def test_paperless_needs_an_email_address_on_file(logged_in, family):
    family.guardians.update(email="")

    response = logged_in.post(
        reverse("familles:paperless"), {"paperless": "1"}, follow=True
    )

    assert not Family.objects.get(pk=family.pk).paperless
    assert (
        "Les factures dématérialisées sont envoyées par e-mail : ajoutez d’abord "
        "une adresse e-mail à vos coordonnées."
    ) in response.text.replace("\xa0", " ")


@pytest.mark.parametrize("paperless", [True, False])
def test_the_paperless_radios_are_those_the_form_writes(logged_in, family, paperless):
    """The family file writes PaperlessForm's radios by hand (faster than the
    widget templates): the same HTML, the family's choice checked."""
    from familles.forms import PaperlessForm

    Family.objects.filter(pk=family.pk).update(paperless=paperless)
    form = PaperlessForm(initial={"paperless": "1" if paperless else "0"})
    expected = "".join(
        f'<div class="check">{radio.tag()} '
        f'<label for="{radio.id_for_label}">{radio.choice_label}</label></div>'
        for radio in form["paperless"]
    )

    page = logged_in.get(reverse("familles:dossier")).text

    assert expected in page
    assert page.count(" checked>") == 1


def test_the_agent_sees_who_changed_what_on_the_family_page(
    parent, family, staff_client
):
    from familles.services import family_paperless_set

    family_paperless_set(family=family, paperless=True, user=parent)

    page = staff_client.get(
        reverse("admin:familles_family_change", args=[family.pk])
    ).text

    assert "Historique du dossier" in page
    row = page[page.index("Historique du dossier") :]
    assert "False" in row and "True" in row and family.identifier in row


def test_the_family_sees_the_history_of_its_file(logged_in, guardian, family, staff):
    from familles.services import family_paperless_set

    step1 = contact_form(logged_in, guardian, phone_mobile="0690 98 76 54")
    logged_in.post(reverse("familles:contact_review"), {"p": payload_of(step1)})
    family_paperless_set(family=family, paperless=True, user=staff)

    page = logged_in.get(reverse("familles:history")).text

    assert "Historique de mon dossier" in page
    assert "+590690123456" in page and "+590690987654" in page
    assert "par votre famille" in page and "par le service" in page
    assert staff.username not in page  # agents are not named to families


def test_allauths_address_page_cannot_add_an_address(logged_in, parent):
    from allauth.account.models import EmailAddress

    before = list(EmailAddress.objects.values_list("email", flat=True))
    added = logged_in.post(
        "/compte/email/", {"action_add": "", "email": "intrus@example.org"}
    )
    shown = logged_in.get("/compte/email/")

    assert added.status_code == 302 and shown.status_code == 302
    assert shown.url == reverse("familles:dossier")
    assert list(EmailAddress.objects.values_list("email", flat=True)) == before


def test_a_familys_documents_are_readable_by_the_portal_alone(logged_in):
    import os

    step1 = logged_in.post(
        reverse("familles:address_edit"),
        address_data(SimpleUploadedFile("facture-edf.pdf", PDF)),
    )
    logged_in.post(reverse("familles:address_review"), {"p": payload_of(step1)})

    proof = AddressChangeRequest.objects.get().proofs.get()
    assert os.stat(proof.file.path).st_mode & 0o777 == 0o600
    assert os.stat(os.path.dirname(proof.file.path)).st_mode & 0o777 == 0o700


def test_a_review_signed_for_another_family_is_refused(logged_in, other_parent):
    from django.test import Client

    step1 = logged_in.post(
        reverse("familles:address_edit"),
        address_data(SimpleUploadedFile("facture-edf.pdf", PDF)),
    )
    other = Client()
    other.force_login(other_parent)

    seen = other.get(step1.url)
    sent = other.post(reverse("familles:address_review"), {"p": payload_of(step1)})

    assert seen.status_code == 404 and sent.status_code == 404
    assert AddressChangeRequest.objects.count() == 0


def test_an_agents_change_of_an_email_goes_through_the_service(
    parent, family, guardian, staff_client, django_capture_on_commit_callbacks
):
    from allauth.account.models import EmailAddress

    url = reverse("admin:familles_guardian_change", args=[guardian.pk])
    data = {
        "family": family.pk,
        "first_name": guardian.first_name,
        "last_name": guardian.last_name,
        "email": "nouvelle@example.org",
        "phone_mobile": str(guardian.phone_mobile),
        "phone_home": "",
        "phone_work": "",
    }
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    addresses = set(
        EmailAddress.objects.filter(user=parent).values_list("email", flat=True)
    )
    assert addresses == {"nouvelle@example.org"}  # the old one resets nothing
    told = [m for m in mail.outbox if "josiane@example.org" in m.to]
    assert told, "the old address is told of the change"
    (change,) = [c for c in dossier_changes(family) if c.field == "email"]
    assert change.new == "nouvelle@example.org" and change.changed_by.is_staff
