"""An agent's day in a real browser: the home page, the month's invoicing
watched to its summary while the worker does it, a refund of a family's
credit. The admin is a desktop tool: these journeys run at 1280 px."""

import pytest

from tests.e2e.helpers import login, shot


@pytest.fixture(autouse=True)
def _desktop_only(viewport):  # noqa: ANN001
    if viewport != "desktop":
        pytest.skip("the staff pages are used on a desktop")


def test_an_invoicing_run_is_watched_to_its_summary(page, worker_portal, viewport):
    login(page, worker_portal, "admin", "admin-demo-2026")
    page.goto(worker_portal.url + "/admin/factures/invoice/facturation/")
    month = page.locator("#id_month option:checked").inner_text()
    page.click("text=Émettre les factures du mois")

    assert "a commencé" in page.inner_text(".messagelist")
    assert page.locator("progress[data-run]").count() == 1  # waiting for the worker
    shot(page, "admin-invoicing-waiting", viewport)
    worker_portal.run_worker()
    # The page sees the run end and shows its summary by itself.
    page.wait_for_selector(".run-summary", timeout=20000)
    summary = page.inner_text(".run-summary")
    assert "déjà facturée" in summary
    assert month.lower() in page.inner_text("#run-progress").lower()
    assert page.locator("progress[data-run]").count() == 0
    shot(page, "admin-invoicing-summary", viewport)


def test_an_agent_gives_back_part_of_a_familys_credit(page, portal, viewport):
    login(page, portal, "agent", "agent-demo-2026")
    page.goto(portal.url + "/admin/paiements/payment/guichet/?q=PB-000006")
    page.click("text=Compte et relevé de la famille")
    assert "20,00" in page.inner_text("#content")  # the demo's credit
    page.click("#content a:text-is('Rembourser') >> nth=0")
    page.select_option("#id_method", "cash")
    page.fill("#id_amount", "5,00")
    page.fill("#id_reason", "Repas non pris pendant la sortie scolaire")
    shot(page, "admin-refund-form", viewport)
    page.click("text=Enregistrer le remboursement")

    news = page.inner_text(".messagelist")
    assert "5,00" in news
    account = page.inner_text("#content")
    assert "15,00" in account  # what is left of the credit
    assert "Repas non pris pendant la sortie scolaire" in account
    shot(page, "admin-family-account", viewport)


STAFF_LISTS = [
    "/admin/familles/family/",
    "/admin/familles/addresschangerequest/",
    "/admin/factures/invoice/",
    "/admin/factures/attendance/",
    "/admin/factures/creditnote/",
    "/admin/paiements/payment/",
    "/admin/paiements/refund/",
    "/admin/paiements/payment/journal/",
    "/admin/paiements/payment/bloquees/",
    "/admin/signalements/report/",
    "/admin/",
]


def test_no_staff_list_is_cut_at_1280_px(page, portal, viewport):
    login(page, portal, "admin", "admin-demo-2026")
    cut = []
    for path in STAFF_LISTS:
        page.goto(portal.url + path)
        widths = page.evaluate(
            """() => [document.documentElement, ...document.querySelectorAll(
                   '.results, #content-main table')]
                 .filter(box => box.scrollWidth > box.clientWidth + 1)
                 .map(box => box.className || box.tagName)"""
        )
        if widths:
            cut.append((path, widths))

    assert cut == []
