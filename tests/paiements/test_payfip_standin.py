"""The local PayFiP stand-in, driven through eopayment's real PayFiP client
(zeep with PayFiP's WSDL, as the portal drives it) and through plain HTTP
for the payment page. No database.

eopayment's client posts to the WSDL's address (PayFiP's); `StandinTransport`
sends the same envelopes to the stand-in instead, as the portal must."""

from __future__ import annotations

import datetime
import html
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path
from typing import Any

import eopayment
import pytest
import zeep
from django.core.management import CommandError, call_command
from eopayment.payfip_ws import PayFiP, PayFiPError

from devtools.management.commands import payfip_standin as command_module
from devtools.payfip_standin import (
    ERRORS,
    PAID_CARD,
    REFUSED_CARD,
    Notification,
    PayfipStandin,
    format_amount,
)
from devtools.payfip_standin.common import paris_stamp
from devtools.payfip_standin.page import STYLE, STYLE_HASH

PROJECT_ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 10.0
PARIS = datetime.timezone(datetime.timedelta(hours=1))  # in March: CET
# The stand-in's clock starts there (Monday 2 March 2026, 09:30 in Paris).
START = datetime.datetime(2026, 3, 2, 9, 30, tzinfo=PARIS).timestamp()
BINDING = (
    "{http://securite.service.tpa.cp.finances.gouv.fr/services/mas_securite/"
    "contrat_paiement_securise/PaiementSecuriseService}"
    "PaiementSecuriseServicePortBinding"
)
NUMCLI = "012345"
NOTIF_URL = "http://portal.test/paiements/payfip/notification/"
REDIRECT_URL = "http://portal.test/paiements/payfip/retour/?paiement=42"


class StandinTransport(zeep.Transport):
    """A zeep transport sending every SOAP request to one address (the
    stand-in's) instead of the WSDL's: the portal needs the same."""

    def __init__(self, address: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.address = address

    def post_xml(self, address: str, envelope: Any, headers: dict[str, str]) -> Any:
        return super().post_xml(self.address, envelope, headers)


class Clock:
    """A `now` for the stand-in, fixed until a test moves it forward."""

    def __init__(self, start: float = START) -> None:
        self.value = start

    def __call__(self) -> float:
        return self.value

    def advance(self, seconds: float) -> None:
        self.value += seconds


class Receiver:
    """A tiny notification endpoint recording what it receives."""

    def __init__(self) -> None:
        self.received: list[tuple[str, bytes, dict[str, str]]] = []
        self.condition = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.condition:
                    receiver.received.append((self.path, body, dict(self.headers)))
                    receiver.condition.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notif/"

    def wait_for(self, count: int) -> list[tuple[str, bytes, dict[str, str]]]:
        with self.condition:
            self.condition.wait_for(
                lambda: len(self.received) >= count, timeout=WAIT_SECONDS
            )
            assert len(self.received) >= count, self.received
            return list(self.received)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def standin(request: pytest.FixtureRequest, clock: Clock) -> PayfipStandin:
    server = PayfipStandin(auto_deliver=False, now=clock)
    server.start()
    request.addfinalizer(server.stop)
    return server


def client_for(standin: PayfipStandin) -> PayFiP:
    return PayFiP(zeep_client_kwargs={"transport": StandinTransport(standin.soap_url)})


@pytest.fixture
def payfip(standin: PayfipStandin) -> PayFiP:
    return client_for(standin)


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Receiver:
    endpoint = Receiver()
    request.addfinalizer(endpoint.close)
    return endpoint


def new_idop(payfip: PayFiP, **overrides: Any) -> str:
    values: dict[str, Any] = {
        "numcli": NUMCLI,
        "saisie": "T",
        "exer": "2026",
        "refdet": "F2026000123",
        "montant": "6000",
        "mel": "josiane@example.org",
        "objet": "Cantine mars 2026",
        "url_notification": NOTIF_URL,
        "url_redirect": REDIRECT_URL,
    }
    values.update(overrides)
    return payfip.get_idop(**values)


def fault_code(call: Callable[[], Any]) -> str:
    with pytest.raises(PayFiPError) as caught:
        call()
    return caught.value.code


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def http(
    url: str, form: dict[str, str] | None = None, data: bytes | None = None
) -> tuple[int, Any, str]:
    """Status, headers and text of a GET (or POST), redirects not followed."""
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(url, data=data, timeout=WAIT_SECONDS) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, error.read().decode()


def page_url(standin: PayfipStandin, idop: str) -> str:
    return f"{standin.payment_url}?idop={idop}"


# --- Paying through the page, read back through eopayment ----------------------


def test_paid_through_the_page(standin: PayfipStandin, payfip: PayFiP):
    idop = new_idop(payfip)

    assert re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", idop)
    status, _, page = http(page_url(standin, idop))
    assert status == 200
    assert "60,00\u00a0€" in page
    assert "Cantine mars 2026" in page
    assert "F2026000123" in page

    status, headers, _ = http(
        standin.payment_url,
        {"idop": idop, "card_number": PAID_CARD, "action": "pay"},
    )

    assert status == 303
    assert headers["Location"] == REDIRECT_URL
    detail = payfip.get_info_paiement(idop)
    assert {name: detail[name] for name in detail} == {
        "dattrans": "02032026",
        "exer": "2026",
        "heurtrans": "0930",
        "idOp": idop,
        "mel": "josiane@example.org",
        "montant": "6000",
        "numauto": detail.numauto,
        "numcli": NUMCLI,
        "objet": "Cantine mars 2026",
        "refdet": "F2026000123",
        "resultrans": "P",
        "saisie": "T",
    }
    assert re.fullmatch(r"[0-9]{6}", detail.numauto)
    assert standin.take_deliveries() == [
        Notification(url=NOTIF_URL, body=f"idOp={idop}".encode())
    ]
    assert standin.take_deliveries() == []
    assert standin.operation(idop)["status"] == "paid"


def test_refused_card_through_the_page(standin: PayfipStandin, payfip: PayFiP):
    idop = new_idop(payfip)

    status, headers, _ = http(
        standin.payment_url, {"idop": idop, "card_number": REFUSED_CARD}
    )

    assert (status, headers["Location"]) == (303, REDIRECT_URL)
    detail = payfip.get_info_paiement(idop)
    assert (detail.resultrans, detail.numauto, detail.montant) == ("R", None, "6000")
    assert len(standin.take_deliveries()) == 1


def test_abandoned_through_the_page(standin: PayfipStandin, payfip: PayFiP):
    idop = new_idop(payfip)

    status, headers, _ = http(
        page_url(standin, idop), {"idop": idop, "card_number": "", "action": "abandon"}
    )

    assert (status, headers["Location"]) == (303, REDIRECT_URL)
    assert payfip.get_info_paiement(idop).resultrans == "A"
    assert len(standin.take_deliveries()) == 1


@pytest.mark.parametrize(
    ("outcome", "resultrans"), [("paid", "P"), ("refused", "R"), ("abandoned", "A")]
)
def test_pay_helper(
    standin: PayfipStandin, payfip: PayFiP, clock: Clock, outcome: str, resultrans: str
):
    idop = new_idop(payfip, objet=None, montant="123456")
    clock.advance(14 * 60 + 59)

    assert standin.pay(idop, outcome) == outcome

    detail = payfip.get_info_paiement(idop)
    assert (detail.resultrans, detail.montant, detail.refdet) == (
        resultrans,
        "123456",
        "F2026000123",
    )
    assert (detail.dattrans, detail.heurtrans) == ("02032026", "0944")
    assert detail.objet is None
    assert (detail.numauto is not None) == (outcome == "paid")
    with pytest.raises(ValueError, match="already finished"):
        standin.pay(idop)


def test_pay_refusals(standin: PayfipStandin, payfip: PayFiP):
    idop = new_idop(payfip)

    with pytest.raises(ValueError, match="Unknown idop"):
        standin.pay("nope")
    with pytest.raises(ValueError, match="outcome"):
        standin.pay(idop, "V")
    assert standin.operation(idop)["status"] == "pending"


def test_operations_are_copies(standin: PayfipStandin, payfip: PayFiP):
    first, second = new_idop(payfip), new_idop(payfip, refdet="F2")

    operations = standin.operations
    operations[first]["status"] = "paid"
    standin.operation(second)["status"] = "paid"

    assert list(standin.operations) == [first, second]
    assert {o["status"] for o in standin.operations.values()} == {"pending"}
    assert standin.operation(first)["created_at"] == START
    assert standin.operation(first)["urlredirect"] == REDIRECT_URL
    with pytest.raises(KeyError):
        standin.operation("nope")


# --- Operations not finished, expired, unknown ---------------------------------


def test_p5_until_finished_and_after_expiry(
    standin: PayfipStandin, payfip: PayFiP, clock: Clock
):
    idop = new_idop(payfip)
    assert fault_code(lambda: payfip.get_info_paiement(idop)) == "P5"
    clock.advance(15 * 60 + 1)

    status, _, page = http(page_url(standin, idop))
    assert status == 200
    assert "Cette opération de paiement a expiré" in page
    assert "card_number" not in page
    status, _, page = http(
        standin.payment_url, {"idop": idop, "card_number": PAID_CARD}
    )
    assert status == 200 and "a expiré" in page
    with pytest.raises(ValueError, match="expired"):
        standin.pay(idop)

    with pytest.raises(PayFiPError) as caught:
        payfip.get_info_paiement(idop)
    assert (caught.value.code, caught.value.message) == ("P5", ERRORS["P5"])
    assert standin.operation(idop)["status"] == "pending"
    assert standin.take_deliveries() == []


def test_p1_for_an_unknown_idop(payfip: PayFiP):
    with pytest.raises(PayFiPError) as caught:
        payfip.get_info_paiement("cc0cb210-1cd4-11ea-8cca-0213ad91a103")
    assert (caught.value.code, caught.value.message) == ("P1", "IdOp incorrect.")


# --- creerPaiementSecurise's checks ---------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"numcli": "12345"}, "T1"),
        ({"numcli": "12345a"}, "T1"),
        ({"exer": "26"}, "E1"),
        ({"refdet": "F-2026-123"}, "R3"),
        ({"refdet": "F" * 31}, "R3"),
        ({"refdet": None}, "R3"),
        ({"mel": None}, "A1"),
        ({"mel": ""}, "A1"),
        ({"mel": "josiane.example.org"}, "A2"),
        ({"mel": "a@b.c"}, "A2"),
        ({"mel": "j" * 70 + "@example.org"}, "A2"),
        ({"montant": "60.00"}, "M1"),
        ({"montant": "99"}, "M3"),
        ({"montant": "10000001"}, "M5"),
        ({"saisie": "M"}, "S1"),
        ({"url_notification": "ftp://portal.test/notif"}, "N1"),
        ({"url_notification": None}, "N1"),
        ({"url_redirect": "javascript:alert(1)"}, "D1"),
        ({"url_redirect": "http://portal.test/a b"}, "D1"),
    ],
)
def test_creation_checks(
    standin: PayfipStandin, payfip: PayFiP, overrides: dict[str, Any], code: str
):
    with pytest.raises(PayFiPError) as caught:
        new_idop(payfip, **overrides)

    assert caught.value.code == code
    assert caught.value.message == ERRORS[code]
    assert standin.operations == {}


def test_creation_limits_are_inclusive(standin: PayfipStandin, payfip: PayFiP):
    new_idop(payfip, montant="100", refdet="F" * 30, mel="a@b.fr")
    new_idop(payfip, montant="10000000", refdet="1", saisie="W", mel="j" * 68 + "@x.fr")
    new_idop(payfip, saisie="X", url_redirect="https://portal.test/r")

    assert [o["montant"] for o in standin.operations.values()] == [
        "100",
        "10000000",
        "6000",
    ]


def test_a_standin_with_one_client(request: pytest.FixtureRequest, clock: Clock):
    standin = PayfipStandin(auto_deliver=False, now=clock, numcli=NUMCLI)
    standin.start()
    request.addfinalizer(standin.stop)
    payfip = client_for(standin)

    assert fault_code(lambda: new_idop(payfip, numcli="999999")) == "T2"
    assert fault_code(lambda: payfip.get_info_client("999999")) == "T2"
    assert new_idop(payfip)
    with pytest.raises(ValueError, match="6 digits"):
        PayfipStandin(numcli="12")


def test_client_detail(payfip: PayFiP):
    detail = payfip.get_info_client(NUMCLI)

    assert detail.numcli == NUMCLI
    assert detail.libelleN1 and detail.libelleN2 and detail.libelleN3
    assert fault_code(lambda: payfip.get_info_client("12")) == "T1"


def test_the_wsdl_binding_at_the_standin_address(standin: PayfipStandin):
    """The binding's name, for zeep's create_service (the other way to
    point a zeep client at the stand-in)."""
    client = zeep.Client(PayFiP().wsdl_url)
    service = client.create_service(BINDING, standin.soap_url)
    request_type = client.get_type(
        "{http://securite.service.tpa.cp.finances.gouv.fr/reponse}"
        "RecupererDetailClientRequest"
    )

    assert service.recupererDetailClient(request_type(numCli=NUMCLI)).numcli == NUMCLI


def test_soap_endpoint_refuses_what_it_cannot_read(standin: PayfipStandin):
    status, _, text = http(standin.soap_url)
    assert status == 200 and "SOAP" in text

    for body in (
        b"not xml",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>',
        b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/">'
        b'<e:Body><o:noSuchOperation xmlns:o="urn:other"/></e:Body></e:Envelope>',
    ):
        status, headers, text = http(standin.soap_url, data=body)
        assert status == 500
        assert headers["Content-Type"].startswith("text/xml")
        assert "<faultcode>S:Client</faultcode>" in text
    assert standin.operations == {}


def test_slow_soap_answers(standin: PayfipStandin, payfip: PayFiP):
    standin.slow_seconds = 0.3

    started = time.monotonic()
    new_idop(payfip)

    assert time.monotonic() - started >= 0.3


# --- Notifications --------------------------------------------------------------


def test_queued_notifications_lost_or_duplicated(
    standin: PayfipStandin, payfip: PayFiP
):
    lost, doubled = new_idop(payfip), new_idop(payfip)

    standin.lose_notifications = True
    standin.pay(lost)
    standin.lose_notifications = False
    standin.duplicate_notifications = True
    standin.pay(doubled, "refused")

    expected = Notification(url=NOTIF_URL, body=f"idOp={doubled}".encode())
    assert standin.take_deliveries() == [expected, expected]
    assert payfip.get_info_paiement(lost).resultrans == "P"


class Delivering:
    """A stand-in delivering its notifications itself, its log kept here
    (not printed from its thread while pytest captures)."""

    def __init__(self, request: pytest.FixtureRequest, clock: Clock) -> None:
        self.standin = PayfipStandin(now=clock)
        self.log: list[str] = []
        request.getfixturevalue("monkeypatch").setattr(
            self.standin, "_log", self.log.append
        )
        self.standin.start()
        request.addfinalizer(self.standin.stop)
        self.payfip = client_for(self.standin)


@pytest.fixture
def delivering(request: pytest.FixtureRequest, clock: Clock) -> Delivering:
    return Delivering(request, clock)


def test_auto_delivery(delivering: Delivering, receiver: Receiver):
    standin, payfip = delivering.standin, delivering.payfip
    idop = new_idop(payfip, url_notification=receiver.url)

    standin.pay(idop)

    [(path, body, headers)] = receiver.wait_for(1)
    assert path == "/notif/"
    assert body == f"idOp={idop}".encode()
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert eopayment.payfip_ws.Payment.guess(body=body) == idop
    assert standin.take_deliveries() == []


def test_auto_delivery_faults(delivering: Delivering, receiver: Receiver):
    standin, payfip = delivering.standin, delivering.payfip
    lost, doubled = (new_idop(payfip, url_notification=receiver.url) for _ in "ab")

    standin.lose_notifications = True
    standin.pay(lost)
    standin.lose_notifications = False
    standin.duplicate_notifications = True
    standin.pay(doubled, "abandoned")

    received = receiver.wait_for(2)
    assert [body for _, body, _ in received] == [f"idOp={doubled}".encode()] * 2
    time.sleep(0.2)
    assert len(receiver.received) == 2
    assert f"idOp={lost}: notification lost" in delivering.log


def test_a_failed_delivery_is_logged_not_raised(
    delivering: Delivering, receiver: Receiver
):
    standin, payfip = delivering.standin, delivering.payfip
    nowhere = new_idop(payfip, url_notification="http://127.0.0.1:9/notif/")
    after = new_idop(payfip, url_notification=receiver.url)

    standin.pay(nowhere)
    standin.pay(after)

    # Delivered in order: the first one failed before the second went out.
    assert [body for _, body, _ in receiver.wait_for(1)] == [f"idOp={after}".encode()]
    failed = f"idOp={nowhere} -> http://127.0.0.1:9/notif/: failed ("
    assert delivering.log[0].startswith(failed)


# --- The payment page -----------------------------------------------------------


def test_format_amount():
    assert format_amount(6000) == "60,00\u00a0€"
    assert format_amount(123450) == "1\u202f234,50\u00a0€"


def test_paris_stamp():
    summer = datetime.datetime(2026, 7, 14, 8, 5, tzinfo=datetime.UTC).timestamp()
    assert paris_stamp(summer) == ("14072026", "1005")
    assert paris_stamp(START) == ("02032026", "0930")


def test_page_is_french_accessible_and_self_contained(
    standin: PayfipStandin, payfip: PayFiP
):
    idop = new_idop(payfip, objet="<script>alert(1)</script>")

    status, headers, page = http(page_url(standin, idop))

    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert '<html lang="fr">' in page
    title = re.search(r"<title>([^<]*)</title>", page)
    assert title and html.unescape(title[1]) == (
        "PayFiP – paiement sécurisé (banc d'essai local)"
    )
    assert 'name="viewport" content="width=device-width' in page
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<label for=card_number>Numéro de carte</label>" in page
    assert "<input id=card_number name=card_number" in page
    assert ">Payer</button>" in page and ">Abandonner</button>" in page
    assert PAID_CARD in page and REFUSED_CARD in page
    for external in ("<link", "src=", "@import", "url("):
        assert external not in page
    policy = headers["Content-Security-Policy"]
    assert f"style-src '{STYLE_HASH}'" in policy and "unsafe-inline" not in policy
    assert f"<style>{STYLE}</style>" in page
    assert "frame-ancestors 'none'" in policy


def test_page_bad_card(standin: PayfipStandin, payfip: PayFiP):
    idop = new_idop(payfip)

    status, _, page = http(
        standin.payment_url, {"idop": idop, "card_number": "1234 5678 9012 3456"}
    )

    assert status == 200
    assert "Numéro de carte non reconnu" in page
    assert "role=alert id=card-error" in page and 'aria-invalid="true"' in page
    assert standin.operation(idop)["status"] == "pending"
    assert standin.take_deliveries() == []
    assert fault_code(lambda: payfip.get_info_paiement(idop)) == "P5"


def test_page_of_a_finished_operation(standin: PayfipStandin, payfip: PayFiP):
    idop = new_idop(payfip)
    standin.pay(idop, "refused")
    standin.take_deliveries()

    status, _, page = http(
        standin.payment_url, {"idop": idop, "card_number": PAID_CARD}
    )

    assert status == 200
    assert "Opération déjà terminée" in page and "a été refusé" in page
    assert "card_number" not in page
    assert f'<a href="{REDIRECT_URL}">' in page
    assert payfip.get_info_paiement(idop).resultrans == "R"
    assert standin.take_deliveries() == []


def test_page_of_an_unknown_operation(standin: PayfipStandin):
    for url in (page_url(standin, "nope"), standin.payment_url):
        status, _, page = http(url)
        assert status == 404
        assert "introuvable" in page
    assert http(standin.base_url + "/elsewhere")[0] == 404


# --- eopayment's Payment backend ------------------------------------------------

NOW = "2026-03-02 09:30 +01:00"


def backend_for(standin: PayfipStandin) -> Any:
    payment = eopayment.Payment(
        "payfip_ws",
        {
            "numcli": NUMCLI,
            "automatic_return_url": NOTIF_URL,
            "normal_return_url": REDIRECT_URL,
        },
    )
    payment.backend.payfip = client_for(standin)
    return payment


@pytest.mark.now(NOW)
def test_eopayment_request_creates_the_operation(standin: PayfipStandin):
    payment = backend_for(standin)

    idop, kind, url = payment.request(
        amount="60.00", email="josiane@example.org", refdet="F2026000123"
    )

    assert kind == eopayment.URL
    # eopayment gives PayFiP's own page: the portal puts the stand-in's
    # origin in its place (the path is the same).
    assert url == f"https://www.payfip.gouv.fr/tpa/paiementws.web?idop={idop}"
    operation = standin.operation(idop)
    assert (operation["montant"], operation["exer"], operation["saisie"]) == (
        "6000",
        "2026",
        "T",
    )
    assert (
        urllib.parse.urlsplit(url).path
        == urllib.parse.urlsplit(standin.payment_url).path
    )


@pytest.mark.now(NOW)
@pytest.mark.parametrize(
    ("outcome", "minutes_ago", "result"),
    [
        ("paid", 0, eopayment.PAID),
        ("refused", 0, eopayment.DENIED),
        ("abandoned", 10, eopayment.CANCELLED),
        # Abandoned a moment ago: eopayment still waits (the payer may come
        # back to the page).
        ("abandoned", 0, eopayment.WAITING),
    ],
)
def test_eopayment_payment_status_of_finished_operations(
    standin: PayfipStandin, clock: Clock, outcome: str, minutes_ago: int, result: int
):
    payment = backend_for(standin)
    clock.advance(-minutes_ago * 60)
    idop, _, _ = payment.request(amount="60.00", email="josiane@example.org")
    standin.pay(idop, outcome)

    started = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1)
    response = payment.payment_status(idop, transaction_date=started)

    assert response.result == result
    assert response.order_id == idop


@pytest.mark.now(NOW)
def test_eopayment_payment_status_waiting_then_expired(
    standin: PayfipStandin, clock: Clock
):
    payment = backend_for(standin)
    idop, _, _ = payment.request(amount="60.00", email="josiane@example.org")
    now = datetime.datetime.now(datetime.UTC)

    assert payment.payment_status(idop, transaction_date=now).result == (
        eopayment.WAITING
    )
    clock.advance(3 * 3600)
    long_ago = now - datetime.timedelta(hours=3)
    assert payment.payment_status(idop, transaction_date=long_ago).result == (
        eopayment.EXPIRED
    )
    assert payment.payment_status("unknown-idop", transaction_date=now).result == (
        eopayment.EXPIRED
    )


# --- Running it -----------------------------------------------------------------


def test_module_imports_no_django_eopayment_or_zeep():
    code = (
        "import sys, devtools.payfip_standin; print(sorted({m.split('.')[0] "
        "for m in sys.modules} & {'django', 'eopayment', 'zeep', 'requests'}))"
    )
    # A fixed command with this interpreter.
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "[]"


def test_python_dash_m(request: pytest.FixtureRequest):
    # A fixed command with this interpreter.
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "devtools.payfip_standin", "--port", "0"],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    request.addfinalizer(process.kill)
    assert process.stdout is not None
    line = process.stdout.readline()
    match = re.search(r"SOAP at (http://127\.0\.0\.1:\d+/tpa/services/securite)", line)
    assert match, line

    payfip = PayFiP(zeep_client_kwargs={"transport": StandinTransport(match[1])})
    assert payfip.get_info_client(NUMCLI).numcli == NUMCLI
    process.terminate()
    assert process.wait(timeout=WAIT_SECONDS) == 0


def test_command_refused_without_debug(settings: Any):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG"):
        call_command("payfip_standin")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://www.payfip.gouv.fr/tpa/services/securite", "http://"),
        ("http://127.0.0.1:12112/elsewhere", "/tpa/services/securite"),
        ("http://127.0.0.1:port/tpa/services/securite", "invalid port"),
    ],
)
def test_command_refuses_a_bad_address(settings: Any, url: str, message: str):
    settings.DEBUG = True
    settings.PAYFIP_SERVICE_URL = url

    with pytest.raises(CommandError, match=message):
        call_command("payfip_standin")


def test_command_default_address():
    assert command_module._listen_address(command_module.DEFAULT_SERVICE_URL) == (
        "127.0.0.1",
        12112,
    )


def test_command_runs_until_interrupted(settings: Any, monkeypatch: Any):
    settings.DEBUG = False
    settings.PAYFIP_SERVICE_URL = "http://127.0.0.1:0/tpa/services/securite"
    ticks: list[int] = []

    def tick() -> None:
        ticks.append(1)
        if len(ticks) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(command_module, "_tick", tick)
    out = StringIO()

    call_command("payfip_standin", "--allow-without-debug", stdout=out)

    output = out.getvalue()
    assert re.search(
        r"listening on http://127\.0\.0\.1:[1-9]\d*: SOAP at "
        r"http://127\.0\.0\.1:[1-9]\d*/tpa/services/securite, payment page at "
        r"http://127\.0\.0\.1:[1-9]\d*/tpa/paiementws\.web",
        output,
    )
    assert "stopped" in output
    assert len(ticks) == 2
