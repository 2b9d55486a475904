"""What a parent and an agent do, in a real browser, on a desktop and a
phone; every parent page also passes axe-core's WCAG 2.1 A/AA rules."""

import io
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.e2e.helpers import DEMO_PASSWORD, assert_accessible, login, shot


def test_first_login_with_the_activation_code(page, portal, viewport):
    page.goto(portal.url + "/")
    assert_accessible(page, "login")
    shot(page, "login", viewport)
    login(page, portal, "PB-000030", portal.demo["code"])
    assert "/premiere-connexion/" in page.url
    assert_accessible(page, "choose password")
    page.fill("#id_new_password1", "les mangues de petit bourg")
    page.fill("#id_new_password2", "les mangues de petit bourg")
    page.click("main button[type=submit]")
    assert "Votre mot de passe est enregistré" in page.inner_text(".messages")
    # An owing family: how much, by when, and the Pay button (in the window).
    home = page.inner_text("main")
    assert "Ce que vous devez" in home
    assert "À payer en ligne avant le 10 décembre" in home
    assert page.locator("main a.button:has-text('Payer en ligne')").count() == 1
    assert_accessible(page, "home")
    shot(page, "home", viewport)


def test_dossier_phone_change_and_moving_house(page, portal, viewport, tmp_path):
    login(page, portal, "PB-000002")
    page.goto(portal.url + "/mon-dossier/")
    assert_accessible(page, "dossier")
    shot(page, "dossier", viewport)
    page.click("text=Modifier l'e-mail et les téléphones >> nth=0")
    assert_accessible(page, "contact form")
    page.fill("#id_phone_mobile", "0690 11 22 33")
    page.click("main button[type=submit]")
    assert_accessible(page, "contact review")
    assert "0690 11 22 33" in page.inner_text("main")
    page.click("main button[type=submit]")
    assert "Vos coordonnées sont mises à jour." in page.inner_text(".messages")
    proof = tmp_path / "facture-edf.pdf"
    proof.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    page.click("text=Je déménage")
    assert_accessible(page, "moving house")
    page.fill("#id_address_line1", "8 allée des Manguiers")
    page.fill("#id_postal_code", "97170")
    page.fill("#id_city", "Petit-Bourg")
    page.set_input_files("#id_proofs", str(proof))
    page.click("main button[type=submit]")
    assert_accessible(page, "moving house review")
    page.click("main button[type=submit]")
    assert "Votre nouvelle adresse est envoyée" in page.inner_text(".messages")
    assert "En attente" in page.inner_text("main")


def test_invoice_history_detail_calendar_and_pdf(page, portal, viewport):
    login(page, portal, "PB-000003")
    page.goto(portal.url + "/factures/")
    assert_accessible(page, "invoices")
    shot(page, "invoices", viewport)
    page.click("table.invoices a >> nth=1")
    assert_accessible(page, "invoice detail")
    shot(page, "invoice-detail", viewport)
    assert page.locator("table.calendar td.present").count() > 0
    number = re.search(r"F\d{4}-\d{6}", page.inner_text("main")).group(0)
    with page.expect_download() as download:
        page.click("text=Télécharger la facture (PDF)")
    pdf = Path(download.value.path()).read_bytes()
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "PB-000003" in text and number in text
    assert "du 1er au 10 de chaque mois" in " ".join(text.split())


def test_paying_two_invoices_by_card_then_finding_the_receipt(page, portal, viewport):
    login(page, portal, "PB-000001")
    page.goto(portal.url + "/paiements/")
    assert_accessible(page, "payments")
    shot(page, "payment", viewport)
    assert page.locator("input[name=invoices]").count() == 2
    page.click("main form button[type=submit]")
    assert_accessible(page, "payment review")
    page.click("main form button[type=submit]")
    page.fill("input[name=card_number]", "4242 4242 4242 4242")
    page.fill("input[name=card_expiry]", "12/30")
    page.fill("input[name=card_cvc]", "123")
    page.fill("input[name=cardholder_name]", "Sandrine Jacoby")
    page.click("button[type=submit]")
    assert "/paiements/retour/" in page.url
    for _ in range(20):
        if "Payé" in page.inner_text("main"):
            break
        page.wait_for_timeout(500)
        page.reload()
    assert "Payé" in page.inner_text("main")
    assert_accessible(page, "payment return")
    # Paid up: the home page says so, with the last payment's receipt.
    page.goto(portal.url + "/")
    home = page.inner_text("main")
    assert "Vous n'avez aucune facture à payer" in home
    assert "Dernier paiement" in home and "Reçu (PDF)" in home
    shot(page, "home-paid-up", viewport)
    page.goto(portal.url + "/factures/")
    rows = page.locator("table.invoices tbody tr")
    assert rows.count() >= 2  # a year of history: every invoice now paid
    assert page.inner_text("table.invoices tbody").count("Payée") == rows.count()
    page.goto(portal.url + "/paiements/")
    page.click("text=Tous mes paiements et reçus")
    assert page.locator("text=Reçu R").count() >= 2
    assert_accessible(page, "payment list")


def test_paying_two_invoices_in_one_payfip_payment(page, payfip_portal, viewport):
    """A commune on PayFiP: the same two invoices, one payment on the
    Treasury's page (the local stand-in), the notification, the receipt."""
    login(page, payfip_portal, "PB-000003")
    page.goto(payfip_portal.url + "/paiements/")
    assert page.locator("input[name=invoices]").count() == 2
    page.click("main form button[type=submit]")
    total = page.inner_text("main")
    page.click("main form button[type=submit]")
    assert "/tpa/paiementws.web?idop=" in page.url, page.inner_text("main")
    payfip_page = page.inner_text("body")
    amounts = re.findall(r"\d+,\d\d\s?€", total.replace("\u00a0", " "))
    assert amounts and amounts[-1].replace(" ", "") in payfip_page.replace(
        "\u00a0", ""
    ).replace(" ", "")
    shot(page, "payfip-page", viewport)
    page.fill("#card_number", "4242 4242 4242 4242")
    page.click("button[value=pay]")

    assert "/paiements/retour/" in page.url
    assert "Payé" in page.inner_text("main")
    assert_accessible(page, "payfip return")
    shot(page, "payfip-paid", viewport)
    page.goto(payfip_portal.url + "/")
    assert "Vous n'avez aucune facture à payer" in page.inner_text("main")
    page.goto(payfip_portal.url + "/paiements/historique/")
    assert "PayFiP" in page.inner_text("main")


def test_a_declined_card_then_cancel_says_nothing_was_charged(page, portal, viewport):
    login(page, portal, "PB-000003")
    page.goto(portal.url + "/paiements/")
    page.click("main form button[type=submit]")
    page.click("main form button[type=submit]")
    page.fill("input[name=card_number]", "4000 0000 0000 0002")
    page.fill("input[name=card_expiry]", "12/30")
    page.fill("input[name=card_cvc]", "123")
    page.fill("input[name=cardholder_name]", "Parent Test")
    page.click("button[type=submit]")
    assert "/paiements/" not in page.url  # still on the provider's page
    page.click("text=Annuler et revenir au portail")

    assert "/paiements/annule/" in page.url
    news = page.inner_text("main")
    assert "rien n’a été débité" in news and "Réessayer" in news
    assert_accessible(page, "payment cancelled")
    shot(page, "payment-cancelled", viewport)
    page.click("text=Réessayer")
    assert "en cours" not in page.inner_text("main")
    assert page.locator("input[name=invoices]").count() >= 1


def test_keyboard_only_payment(page, portal, viewport):
    login(page, portal, "PB-000012")
    page.goto(portal.url + "/paiements/")
    # From the skip link to the first checkbox, then on to Continue, by Tab.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Continuer":
            break
    page.keyboard.press("Enter")
    assert "Vérifiez votre paiement" in page.inner_text("h1")
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()").startswith(
            "Payer"
        ):
            break
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/checkout/.*"))
    assert "Simulateur de paiement" in page.inner_text("body")


def test_a_blocked_family_sees_why_and_cannot_pay_by_card(page, portal, viewport):
    login(page, portal, "PB-000004")
    home = page.inner_text("main")
    assert "3 factures impayées" in home
    # The way out, in numbers: one invoice to settle at the desk, and when.
    assert "Réglez 1 facture au guichet" in home
    assert "Horaires" in home and "0590 00 00 00" in home
    assert page.locator("main a.button:has-text('Payer en ligne')").count() == 0
    assert_accessible(page, "home blocked")
    shot(page, "home-blocked", viewport)
    page.goto(portal.url + "/paiements/")
    assert_accessible(page, "payments blocked")
    shot(page, "payment-blocked", viewport)
    assert page.locator("input[name=invoices]").count() == 0
    assert "du 7 au 25" in page.inner_text("main")


def test_outside_the_window_the_page_says_when_it_opens(page, closed_portal, viewport):
    login(page, closed_portal, "PB-000001")
    page.goto(closed_portal.url + "/paiements/")
    assert_accessible(page, "payments closed")
    assert "Il rouvrira le 1er janvier 2027" in page.inner_text("main")
    assert page.locator("input[name=invoices]").count() == 0


def test_a_wrong_amount_report_answered_by_an_agent(page, portal, viewport, browser):
    login(page, portal, "PB-000010")
    page.goto(portal.url + "/factures/")
    page.click("table.invoices a >> nth=0")
    page.click("text=Signaler un problème sur cette facture")
    assert_accessible(page, "report form")
    page.fill("#id_message", "Mon enfant était en sortie scolaire deux jours.")
    page.click("main button[type=submit]")
    assert "référence S" in page.inner_text(".messages")
    reference = re.search(r"S\d{4}-\d{6}", page.inner_text(".messages")).group(0)
    page.goto(portal.url + "/factures/")
    assert "Contestée" in page.inner_text("table.invoices")

    agent = browser.new_page()
    login(agent, portal, "agent", "agent-demo-2026")
    agent.goto(portal.url + "/admin/signalements/report/?q=" + reference)
    agent.click(f"#result_list a:has-text('{reference}')")
    agent.click("text=Répondre / changer le statut")
    agent.select_option("#id_status", "resolved")
    agent.fill("#id_message", "Deux repas seront déduits par un avoir.")
    agent.click("text=Envoyer à la famille")
    agent.close()

    page.goto(portal.url + "/signalements/")
    assert "Deux repas seront déduits" in page.inner_text("main")  # the last answer
    page.click(f"main a:has-text('{reference}')")
    assert_accessible(page, "report detail")
    assert "Deux repas seront déduits par un avoir." in page.inner_text("main")


def test_agent_cash_payment_address_validation_and_merge(
    page, portal, viewport, browser
):
    login(page, portal, "agent", "agent-demo-2026")
    # The home page says what was taken and what waits.
    page.goto(portal.url + "/admin/")
    day = page.inner_text("#content-main")
    assert "Argent encaissé" in day and "Familles bloquées en ligne" in day
    shot(page, "admin-dashboard", viewport)
    # The desk finds the family by its name, as heard at the counter.
    page.goto(portal.url + "/admin/familles/family/?q=PB-000009")
    name = page.inner_text("#result_list tbody tr td.field-name")
    page.goto(portal.url + "/admin/paiements/payment/guichet/")
    page.fill("#id_q", name.lower())
    page.click("text=Rechercher la famille")
    if page.locator("text=familles correspondent").count():
        page.click("a:has-text('PB-000009')")
    assert "PB-000009" in page.inner_text("#content h2 >> nth=0")
    shot(page, "admin-desk", viewport)
    # Pay the two oldest invoices in full: the amount due of each row.
    rows = page.locator("form table tbody tr")
    dues = [rows.nth(i).locator("td").nth(3).inner_text() for i in range(2)]
    cents = [int(re.sub(r"\D", "", due)) for due in dues]
    for i, due in enumerate(cents):
        rows.nth(i).locator("input").fill(f"{due // 100},{due % 100:02d}")
    total = sum(cents)
    page.fill("#id_amount", f"{total // 100},{total % 100:02d}")
    page.click("text=Enregistrer le paiement")
    assert "Paiement R" in page.inner_text(".messagelist")
    page.goto(portal.url + "/admin/paiements/payment/bloquees/")
    assert "PB-000009" not in page.inner_text("#content")  # the block lifted

    # An address change sent by a family, validated by the agent.
    family = browser.new_page()  # a browser of its own, not the agent's
    login(family, portal, "PB-000013", DEMO_PASSWORD)
    family.goto(portal.url + "/mon-dossier/demenagement/")
    family.fill("#id_address_line1", "3 rue des Goyaviers")
    family.fill("#id_postal_code", "97170")
    family.fill("#id_city", "Petit-Bourg")
    family.set_input_files(
        "#id_proofs",
        files=[
            {
                "name": "edf.pdf",
                "mimeType": "application/pdf",
                "buffer": b"%PDF-1.4\n%%EOF\n",
            }
        ],
    )
    family.click("main button[type=submit]")
    family.click("main button[type=submit]")
    family.close()
    page.goto(portal.url + "/admin/familles/addresschangerequest/?q=PB-000013")
    page.check("input[name=_selected_action] >> nth=0")
    page.select_option("select[name=action]", "validate")
    page.click("button[name=index]")
    assert "appliquée" in page.inner_text(".messagelist")

    # Merges are an administrator's job.
    page.goto(portal.url + "/compte/logout/")
    page.click("main button[type=submit]")
    login(page, portal, "admin", "admin-demo-2026")
    page.goto(portal.url + "/admin/familles/family/doublons/")
    page.click("text=Aperçu de la fusion >> nth=0")
    shot(page, "admin-merge-preview", viewport)
    page.click("button[name=confirm]")
    assert "fusionnée" in page.inner_text(".messagelist")


def test_the_other_parent_pages_are_accessible(page, portal, viewport):
    page.goto(portal.url + "/aide/")
    assert_accessible(page, "help (anonymous)")
    page.goto(portal.url + "/compte/password/reset/")
    assert_accessible(page, "password reset")
    for path in ["/accessibilite/", "/mentions-legales/", "/donnees-personnelles/"]:
        page.goto(portal.url + path)
        assert_accessible(page, path)
    login(page, portal, "PB-000015")
    for path, name in [
        ("/aide/", "help"),
        ("/signalements/", "reports"),
        ("/signalements/nouveau/", "report form"),
        ("/mon-dossier/", "dossier"),
        ("/mon-dossier/historique/", "dossier history"),
        ("/paiements/releve/", "statement"),
        ("/paiements/historique/", "payment list"),
    ]:
        page.goto(portal.url + path)
        assert_accessible(page, name)


def test_a_form_error_is_found_at_once(page, portal, viewport):
    login(page, portal, "PB-000012")
    page.goto(portal.url + "/signalements/nouveau/")
    page.check("input[name=kind][value=other]")
    page.click("main form button[type=submit]")

    page.wait_for_load_state("load")
    assert page.title().startswith("Erreur – ")
    # The summary takes the focus once the page's script has run.
    page.wait_for_function("document.activeElement.id === 'form-errors'")
    page.click("#form-errors a >> nth=0")
    assert page.evaluate("location.hash") == "#id_message"
    assert_accessible(page, "form error")
    shot(page, "form-error", viewport)


LONG_EMAIL = (
    "marie-josephine.de-la-grande-riviere-sainte-marie"
    "@commune-de-petit-bourg.example.org"
)


def reflows(page) -> bool:  # noqa: ANN001
    """Nothing wider than the window: no horizontal scrolling (WCAG 1.4.10).
    Prints what sticks out, for the failure's message."""
    page.wait_for_load_state("load")  # its stylesheet applied
    wide = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right
                         > document.documentElement.clientWidth + 1)
            .slice(0, 3).map(e => e.tagName + '.' + e.className)"""
    )
    if wide:
        print(page.url, wide)
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


def test_every_parent_page_reflows_at_320_px(browser, portal, viewport):
    if viewport != "phone":
        pytest.skip("one narrow window is enough")
    context = browser.new_context(
        viewport={"width": 320, "height": 640}, locale="fr-FR"
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    login(page, portal, "PB-000010")
    # A long e-mail address, as some families have.
    page.goto(portal.url + "/mon-dossier/")
    page.click("text=Modifier l'e-mail et les téléphones >> nth=0")
    page.fill("#id_email", LONG_EMAIL)
    page.click("main button[type=submit]")
    wide = [] if reflows(page) else ["contact review"]
    page.click("main button[type=submit]")
    pages = [
        "/",
        "/mon-dossier/",
        "/mon-dossier/historique/",
        "/mon-dossier/demenagement/",
        "/factures/",
        "/paiements/",
        "/paiements/historique/",
        "/paiements/releve/",
        "/signalements/",
        "/signalements/nouveau/",
        "/aide/",
        "/accessibilite/",
        "/mentions-legales/",
        "/donnees-personnelles/",
    ]
    for path in pages:
        page.goto(portal.url + path)
        if not reflows(page):
            wide.append(path)
    page.goto(portal.url + "/factures/")
    page.click("table.invoices tbody tr a >> nth=0")
    if not reflows(page):
        wide.append("invoice detail")
    context.close()

    assert wide == [], wide
