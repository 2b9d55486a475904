import datetime
import io
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from pypdf import PdfReader

from factures.models import Invoice
from factures.services import CreditLine, credit_note_issue, invoice_issue_month
from familles.services import family_login_create
from paiements.models import Payment
from paiements.services import payment_record_desk
from tests.clock import LOCAL
from tests.factories import ChildFactory
from tests.factures.conftest import OCTOBER, attend

pytestmark = pytest.mark.django_db


def pdf_text(content: bytes) -> str:
    text = " ".join(
        page.extract_text() for page in PdfReader(io.BytesIO(content)).pages
    )
    return " ".join(text.replace("\u00a0", " ").split())


@pytest.fixture
def invoices(parent, prices, canteen, staff):  # noqa: ANN001, ANN201
    """September and October invoices of the parent's family (Dorville)."""
    from factures.models import BracketAssignment

    BracketAssignment.objects.filter(family=parent.family).update(bracket=prices["B"])
    kenzo = parent.family.children.get(first_name="Kenzo")
    attend(kenzo, canteen, 1, 2, 3, month=datetime.date(2026, 9, 1))
    attend(kenzo, canteen, *range(1, 31))  # 30 × 1,80 € = 54,00 €
    today = datetime.date(2026, 11, 26)
    september = invoice_issue_month(
        period=datetime.date(2026, 9, 1), issued_by=staff, today=today
    )
    october = invoice_issue_month(period=OCTOBER, issued_by=staff, today=today)
    return september.created[0], october.created[0]


def test_the_list_shows_every_invoice_newest_first_with_amounts(
    client, parent, invoices
):
    september, october = invoices
    credit_note_issue(
        invoice=september,
        lines=[CreditLine(label="Repas", quantity=1, unit_price=Decimal("1.80"))],
        reason="Absence",
        agent=None,
    )
    client.force_login(parent)

    page = client.get(reverse("factures:list")).text.replace("\u00a0", " ")

    assert page.index("Octobre 2026") < page.index("Septembre 2026")
    assert october.number in page and september.number in page
    assert "54,00 €" in page
    assert "5,40 €" in page and "3,60 €" in page  # total and due of September
    assert "À payer" in page


def test_the_detail_shows_lines_and_a_calendar_of_the_days_attended(
    client, parent, invoices
):
    _september, october = invoices
    client.force_login(parent)

    response = client.get(reverse("factures:detail", args=[october.pk]))

    page = response.text.replace("\u00a0", " ")
    assert "Facture – octobre 2026" in page
    assert "30 × 1,80 € = <strong>54,00 €</strong>" in page
    assert "30 jours de présence." in page
    attended = re.findall(r'<td class="present"><span aria-hidden="true">(\d+)<', page)
    assert [int(day) for day in attended] == list(range(1, 31))
    assert "<td>31</td>" in page  # October's last day, not attended
    assert page.count('class="present"') == 30
    assert "3 octobre : Restauration scolaire" in page  # a screen reader says
    assert '<th scope="col" abbr="lundi">lun.</th>' in page
    assert '<th scope="col" abbr="dimanche">dim.</th>' in page


def test_the_calendar_shows_the_days_of_every_line_and_only_the_billed_ones(
    client, parent, invoices, prices, canteen
):
    """A bracket change in the month gives the child two lines: the calendar
    shows the days of both. A day entered after the run is not billed, and
    not shown as attended."""
    from factures.models import BracketAssignment, Invoice

    kenzo = parent.family.children.get(first_name="Kenzo")
    november = datetime.date(2026, 11, 1)
    BracketAssignment.objects.create(
        family=parent.family, bracket=prices["A"], valid_from=november.replace(day=4)
    )
    attend(kenzo, canteen, 2, 3, 4, 5, month=november)
    invoice_issue_month(
        period=november, issued_by=None, today=datetime.date(2026, 12, 1)
    )
    attend(kenzo, canteen, 6, month=november)  # after the run: not billed
    invoice = Invoice.objects.get(family=parent.family, period=november)
    assert invoice.lines.count() == 2
    client.force_login(parent)

    page = client.get(reverse("factures:detail", args=[invoice.pk])).text

    attended = re.findall(r'<td class="present"><span aria-hidden="true">(\d+)<', page)
    assert [int(day) for day in attended] == [2, 3, 4, 5]
    assert "<td>6</td>" in page
    assert "4 jours de présence." in page


def test_a_credit_note_shows_on_its_invoice_page_and_pdf_only(client, parent, invoices):
    """The pages skip reading credit notes when nothing is credited: a
    credited invoice must still show its note."""
    september, october = invoices
    note = credit_note_issue(
        invoice=september,
        lines=[CreditLine(label="Repas", quantity=1, unit_price=Decimal("1.80"))],
        reason="Absence justifiée",
        agent=None,
    )
    client.force_login(parent)

    page = client.get(reverse("factures:detail", args=[september.pk])).text
    pdf = pdf_text(client.get(reverse("factures:pdf", args=[september.pk])).content)
    other = client.get(reverse("factures:detail", args=[october.pk])).text
    other_pdf = pdf_text(client.get(reverse("factures:pdf", args=[october.pk])).content)

    assert note.number in page and "Absence justifiée" in page
    assert "<h2>Avoirs</h2>" in page and "<h2>Avoirs</h2>" not in other
    assert note.number in pdf and "Absence justifiée" in pdf
    assert october.number in other_pdf  # the other invoice's own PDF
    assert note.number not in other_pdf and "Absence justifiée" not in other_pdf


def test_the_pdf_carries_identifier_amounts_and_payment_dates(client, parent, invoices):
    _september, october = invoices
    client.force_login(parent)

    response = client.get(reverse("factures:pdf", args=[october.pk]))

    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert parent.family.identifier in text
    assert october.number in text
    assert "octobre 2026" in text
    assert "54,00 €" in text
    assert "du 1er au 10 de chaque mois" in text
    assert "du 7 au 25 de chaque mois" in text
    assert "Kenzo" in text


def test_the_pdf_prints_the_portals_own_address_on_one_line(
    client, parent, invoices, settings
):
    address = "https://portail-familles.petit-bourg.example.org"
    settings.PORTAIL_COMMUNE = {**settings.PORTAIL_COMMUNE, "portal_url": address}
    client.force_login(parent)

    content = client.get(reverse("factures:pdf", args=[invoices[1].pk])).content

    lines = PdfReader(io.BytesIO(content)).pages[0].extract_text().splitlines()
    assert address in [line.strip() for line in lines]
    assert "127.0.0.1" not in pdf_text(content)


def test_payment_dates_on_the_pdf_follow_the_settings(
    client, parent, invoices, settings
):
    settings.PORTAIL_ONLINE_PAYMENT_DAYS = "2-12"
    client.force_login(parent)

    text = pdf_text(client.get(reverse("factures:pdf", args=[invoices[1].pk])).content)

    assert "du 2 au 12 de chaque mois" in text


def test_the_pdf_carries_the_activation_code_until_the_login_is_activated(
    family, prices, canteen, staff
):
    from factures.pdf import invoice_pdf

    issued = family_login_create(family=family, agent=staff)
    attend(ChildFactory(family=family), canteen, 1)
    invoice = invoice_issue_month(
        period=OCTOBER, issued_by=staff, today=datetime.date(2026, 11, 2)
    ).created[0]

    assert issued.code in pdf_text(invoice_pdf(invoice))
    issued.user.set_password("un mot de passe choisi")
    issued.user.save()
    assert issued.code not in pdf_text(invoice_pdf(invoice))


@pytest.mark.parametrize("name", ["factures:detail", "factures:pdf"])
def test_another_familys_invoice_is_not_found(client, other_parent, invoices, name):
    client.force_login(other_parent)

    response = client.get(reverse(name, args=[invoices[1].pk]))

    assert response.status_code == 404


def test_another_family_sees_none_of_these_invoices_in_its_list(
    client, other_parent, invoices
):
    client.force_login(other_parent)

    page = client.get(reverse("factures:list")).text

    assert invoices[0].number not in page and invoices[1].number not in page
    assert "Aucune facture" in page


def test_the_pdf_and_the_page_give_the_date_to_pay_by(client, parent, invoices):
    _september, october = invoices
    Invoice.objects.filter(pk=october.pk).update(
        issued_at=datetime.datetime(2026, 11, 12, 9, tzinfo=LOCAL)
    )
    client.force_login(parent)

    text = pdf_text(client.get(reverse("factures:pdf", args=[october.pk])).content)
    page = client.get(reverse("factures:detail", args=[october.pk])).text

    # Issued on 12 November, after that month's online window (1-10).
    assert "À régler avant le 10 décembre 2026 en ligne, ou au guichet." in text
    assert "10 décembre 2026" in page


def test_a_paid_invoice_links_its_receipt(client, parent, invoices):
    september, _october = invoices
    payment = payment_record_desk(
        family=parent.family,
        method=Payment.Method.CASH,
        amount=september.total,
        allocations={september.pk: september.total},
        agent=None,
    )
    client.force_login(parent)

    page = client.get(reverse("factures:detail", args=[september.pk])).text

    assert reverse("paiements:receipt", args=[payment.pk]) in page
    assert f"Reçu {payment.number} (PDF)" in page
    assert "À payer en ligne avant le" not in page  # nothing left to pay


def test_the_calendar_marks_each_activity_billed_with_a_legend(
    client, parent, prices, canteen, after_school
):
    kenzo = parent.family.children.get(first_name="Kenzo")
    november = datetime.date(2026, 11, 1)
    attend(kenzo, canteen, 2, 3, month=november)
    attend(kenzo, after_school, 3, 5, month=november)
    invoice_issue_month(
        period=november, issued_by=None, today=datetime.date(2026, 12, 1)
    )
    invoice = Invoice.objects.get(family=parent.family, period=november)
    client.force_login(parent)

    page = client.get(reverse("factures:detail", args=[invoice.pk])).text

    marked = dict(
        re.findall(
            r'<td class="present"><span aria-hidden="true">(\d+)'
            r'<span class="marks">([^<]*)</span>',
            page,
        )
    )
    assert marked == {"2": "R", "3": "R G", "5": "G"}
    assert "3 novembre\xa0: Restauration scolaire, Garderie du soir" in page
    assert "5 novembre\xa0: Garderie du soir" in page
    legend = " ".join(re.sub(r"<[^>]+>", " ", page.split("calendar-legend")[1]).split())
    assert "Légende : G Garderie du soir · R Restauration scolaire" in legend
    assert "3 jours de présence." in page


def test_the_list_links_the_receipts_of_each_invoice(client, parent, invoices):
    september, october = invoices
    payment = payment_record_desk(
        family=parent.family,
        method=Payment.Method.CASH,
        amount=september.total,
        allocations={september.pk: september.total},
        agent=None,
    )
    client.force_login(parent)

    page = client.get(reverse("factures:list")).text

    rows = {
        number: row
        for row in re.findall(r"<tr>.*?</tr>", page, re.S)
        for number in (september.number, october.number)
        if number in row
    }
    receipt = reverse("paiements:receipt", args=[payment.pk])
    assert receipt in rows[september.number]
    assert receipt not in rows[october.number]
