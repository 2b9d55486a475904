"""French typography: the first of the month is "1er", and the templates
write dates through the same helper."""

import datetime
import re
from pathlib import Path

import pytest
from django.urls import reverse

from familles.models import AddressChangeRequest
from portail.typography import file_size, french_date
from signalements.services import report_submit
from tests.clock import LOCAL

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("day", "year", "written"),
    [
        (datetime.date(2027, 1, 1), True, "1er janvier 2027"),
        (datetime.date(2026, 12, 10), True, "10 décembre 2026"),
        (datetime.date(2026, 12, 1), False, "1er décembre"),
        # Late on 31 December in Guadeloupe is already 1 January in UTC.
        (
            datetime.datetime(2027, 1, 1, 3, 30, tzinfo=datetime.UTC),
            True,
            "31 décembre 2026",
        ),
        (datetime.datetime(2027, 1, 1, 8, 0, tzinfo=LOCAL), True, "1er janvier 2027"),
    ],
)
def test_dates_are_written_as_french_writes_them(day, year, written, settings):
    settings.LANGUAGE_CODE = "fr"

    assert french_date(day, year=year) == written


def test_no_parent_template_writes_the_first_of_the_month_as_1():
    """`|date:"j F Y"` writes "1 janvier": the parents' templates, e-mails
    and PDFs use `|fr_date` (staff pages keep Django's own formats)."""
    found = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "templates").rglob("*.*")
        if "admin" not in path.parts
        and re.search(r'\|date:"j F( Y)?"', path.read_text())
    ]

    assert found == []


@pytest.mark.parametrize(
    ("size", "written"),
    [
        (850, "850\u00a0octets"),
        (2048, "2\u00a0Ko"),
        (5 * 1024 * 1024, "5\u00a0Mo"),
        (int(4.5 * 1024 * 1024), "4,5\u00a0Mo"),
    ],
)
def test_file_sizes_are_in_ko_and_mo(size, written):
    assert file_size(size) == written


@pytest.mark.django_db
def test_a_report_is_sent_masculine_an_address_change_feminine(client, parent):
    report_submit(
        family=parent.family,
        user=parent,
        kind="other",
        message="?",
        request_key="t" * 32,
    )
    AddressChangeRequest.objects.create(
        family=parent.family,
        address_line1="3 rue des Goyaviers",
        postal_code="97170",
        city="Petit-Bourg",
        request_key="u" * 32,
    )
    client.force_login(parent)

    reports = client.get(reverse("signalements:report_list")).text
    dossier = client.get(reverse("familles:dossier")).text

    assert "envoyé le" in reports and "envoyée le" not in reports
    assert "envoyée le" in dossier


def test_no_french_sentence_breaks_before_its_colon():
    """French puts a space before : ; ? ! and inside « » — a non-breaking
    one, or a line may start with ":" (the catalogue and the parents'
    templates; the staff pages are Django's)."""
    catalogue = (ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.po").read_text()
    translations, in_msgstr = [], False
    for line in catalogue.splitlines():
        if line.startswith("msgstr"):
            in_msgstr = True
        elif not line.startswith('"'):
            in_msgstr = False
        if in_msgstr and not line.startswith('"Plural'):
            translations.append(line)
    templates = [
        f"{path.relative_to(ROOT)}: {line.strip()}"
        for path in (ROOT / "templates").rglob("*.html")
        if "admin" not in path.parts
        for line in path.read_text().splitlines()
        if re.search(r" [:;] ", line) and "@page" not in line
    ]

    assert [line for line in translations if re.search(r" [:;?!»]|« ", line)] == []
    assert templates == []
