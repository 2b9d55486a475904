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
