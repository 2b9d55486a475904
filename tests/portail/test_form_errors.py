"""A form that comes back with errors is easy to mend: a summary at the top
that links to each field and takes the focus, a title that starts with
"Erreur", and files asked for again in words (RGAA 11.10, 11.11)."""

import re
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

pytestmark = pytest.mark.django_db


def title(page: str) -> str:
    return unescape(re.search(r"<title>(.*?)</title>", page, re.S).group(1)).strip()


def test_a_report_sent_without_a_message_comes_back_with_a_summary(client, parent):
    client.force_login(parent)

    page = client.post(
        reverse("signalements:report_new"),
        {"kind": "other", "message": "", "request_key": "e" * 32},
    ).text

    assert title(page).startswith("Erreur – ")
    summary = re.search(r'<div class="[^"]*error-summary.*?</div>', page, re.S).group(0)
    assert 'id="form-errors"' in summary and 'tabindex="-1"' in summary
    assert "Le formulaire contient 1 erreur" in unescape(summary)
    assert 'href="#id_message"' in summary
    assert 'id="id_message"' in page  # the link leads somewhere
    assert "js/form-errors.js" in page  # which moves the focus to the summary


def test_a_file_is_asked_for_again_in_words(client, parent):
    client.force_login(parent)
    proof = SimpleUploadedFile("edf.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")

    page = client.post(
        reverse("familles:address_edit"),
        {"address_line1": "", "postal_code": "97170", "city": "", "proofs": proof},
    ).text

    assert title(page).startswith("Erreur – ")
    assert "choisissez de nouveau votre fichier" in unescape(page)


def test_a_form_without_errors_has_no_summary(client, parent):
    client.force_login(parent)

    page = client.get(reverse("signalements:report_new")).text

    assert not title(page).startswith("Erreur")
    assert "form-errors" not in page
