"""What the stand-in's parts share: the paths, the limits, the test cards,
the functional errors it answers and the checks of a new payment."""

from __future__ import annotations

import datetime
import queue
import re
import secrets
import threading
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from devtools.standin_http import ServedStandin

# Where PayFiP serves its SOAP endpoint and its payment page: the stand-in
# uses the same paths, so only the origin differs from the real service.
SOAP_PATH = "/tpa/services/securite"
PAYMENT_PATH = "/tpa/paiementws.web"

# The WSDL's namespaces (eopayment's resource/PaiementSecuriseService*.xsd):
# the operations' wrappers and the faults' details are in TNS, their children
# are unqualified.
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
TNS = (
    "http://securite.service.tpa.cp.finances.gouv.fr/services/mas_securite/"
    "contrat_paiement_securise/PaiementSecuriseService"
)
FONCTIONNELLE_ERREUR = (
    "fr.gouv.finances.cp.tpa.webservice.exceptions.FonctionnelleErreur"
)

PAID_CARD = "4242 4242 4242 4242"
REFUSED_CARD = "4000 0000 0000 0002"

# PayFiP's resultrans for each outcome of the page (P card paid, R card
# refused, A abandoned by the payer).
RESULTRANS = {"paid": "P", "refused": "R", "abandoned": "A"}
OUTCOMES = tuple(RESULTRANS)

# An idOp opens the payment page for 15 minutes after its creation.
IDOP_LIFETIME_SECONDS = 15 * 60
MIN_AMOUNT_CENTS = 100
MAX_AMOUNT_CENTS = 10_000_000
MEL_LENGTHS = (6, 80)
PARIS = ZoneInfo("Europe/Paris")

MAX_BODY_BYTES = 1 << 20
DELIVERY_TIMEOUT_SECONDS = 5.0
MAX_SLOW_SECONDS = 60.0

NUMCLI_PATTERN = re.compile(r"^[0-9]{6}$")
EXER_PATTERN = re.compile(r"^[0-9]{4}$")
# eopayment's REFDET_RE. (PayFiP itself answered R3 to a 4-character refdet
# in eopayment's recorded exchanges: the stand-in is the more lenient.)
REFDET_PATTERN = re.compile(r"^[A-Za-z0-9]{1,30}$")
MONTANT_PATTERN = re.compile(r"^[0-9]{1,11}$")
# Printable ASCII only: a URL goes back out in a Location header.
URL_PATTERN = re.compile(r"^[\x21-\x7e]+$")

# The functional errors (faults FonctionnelleErreur) the stand-in answers:
# code -> libelle. P1, P5, R3 and A2 are PayFiP's own (as its answers
# recorded in eopayment's tests show); the others follow a transcription of
# PayFiP's table of codes; E1 (exer) is the stand-in's own.
ERRORS = {
    "T1": "Le numéro de client doit être composé de 6 chiffres.",
    "T2": "Le numéro de client doit être pré-existant dans la base PayFiP.",
    "E1": "L'exercice doit être composé de 4 chiffres.",
    "R3": "Le format du paramètre REFDET n'est pas conforme.",
    "A1": "L'adresse mel doit être renseignée.",
    "A2": "Adresse mel incorrecte.",
    "M1": "Le format du montant n'est pas correct.",
    "M3": "Le montant doit être supérieur ou égal à 1 euro.",
    "M5": "Le montant dépasse le maximum autorisé.",
    "S1": "Le mode de saisie doit être T, X ou W.",
    "N1": "L'URL de notification n'est pas valide.",
    "D1": "L'URL de redirection n'est pas valide.",
    "P1": "IdOp incorrect.",
    "P5": "Résultat de la transaction non connu.",
}


@dataclass(frozen=True)
class Notification:
    """One notification, as PayFiP POSTs it to an operation's urlnotif."""

    url: str
    body: bytes  # b"idOp=<idop>", form-encoded


class PayfipFault(Exception):
    """A functional error, answered as PayFiP's SOAP fault
    FonctionnelleErreur with this code."""

    def __init__(self, code: str, descriptif: str | None = None) -> None:
        self.code = code
        self.libelle = ERRORS[code]
        self.descriptif = descriptif or self.libelle
        super().__init__(f"{code}: {self.descriptif}")


def new_idop() -> str:
    """A fresh idOp, shaped like PayFiP's (a 36-character UUID)."""
    return str(uuid.uuid4())


def new_numauto() -> str:
    """A card authorisation number: 6 digits."""
    return f"{secrets.randbelow(1_000_000):06d}"


def card_digits(card_number: str) -> str:
    return re.sub(r"[\s-]", "", card_number)


def format_amount(cents: int) -> str:
    """An amount in French style: 123450 -> "1 234,50 €" (narrow no-break
    space between thousands, no-break space before the symbol)."""
    units, rest = divmod(cents, 100)
    grouped = f"{units:,}".replace(",", "\u202f")
    return f"{grouped},{rest:02d}\u00a0€"


def paris_stamp(timestamp: float) -> tuple[str, str]:
    """dattrans (ddmmyyyy) and heurtrans (hhmm) of a moment, in Paris."""
    moment = datetime.datetime.fromtimestamp(timestamp, PARIS)
    return moment.strftime("%d%m%Y"), moment.strftime("%H%M")


def _url(value: str, code: str) -> str:
    parts = urllib.parse.urlsplit(value) if URL_PATTERN.match(value) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise PayfipFault(code)
    return value


def check_payment(fields: dict[str, str], numcli: str | None) -> dict[str, Any]:
    """The new operation's fields, checked as PayFiP checks them (first
    failure wins); PayfipFault otherwise. `numcli`: the one client known, or
    None for any."""
    client = fields.get("numcli", "")
    if not NUMCLI_PATTERN.match(client):
        raise PayfipFault("T1")
    if numcli is not None and client != numcli:
        raise PayfipFault("T2")
    if not EXER_PATTERN.match(fields.get("exer", "")):
        raise PayfipFault("E1")
    if not REFDET_PATTERN.match(fields.get("refdet", "")):
        raise PayfipFault("R3")
    mel = fields.get("mel", "")
    if not mel.strip():
        raise PayfipFault("A1")
    low, high = MEL_LENGTHS
    if "@" not in mel or not low <= len(mel) <= high:
        raise PayfipFault("A2")
    montant = fields.get("montant", "")
    if not MONTANT_PATTERN.match(montant):
        raise PayfipFault("M1")
    if int(montant) < MIN_AMOUNT_CENTS:
        raise PayfipFault("M3")
    if int(montant) > MAX_AMOUNT_CENTS:
        raise PayfipFault("M5")
    if fields.get("saisie", "") not in ("T", "X", "W"):
        raise PayfipFault("S1")
    return {
        "numcli": client,
        "exer": fields["exer"],
        "refdet": fields["refdet"],
        "montant": montant,
        "mel": mel,
        "objet": fields.get("objet") or None,
        "saisie": fields["saisie"],
        "urlnotif": _url(fields.get("urlnotif", ""), "N1"),
        "urlredirect": _url(fields.get("urlredirect", ""), "D1"),
    }


class StandinState(ServedStandin):
    """What the stand-in's parts share: set by `PayfipStandin.__init__`, its
    methods defined there (the parts are mixins of one object); serving
    comes from `ServedStandin`."""

    numcli: str | None
    auto_deliver: bool
    now: Callable[[], float]
    lose_notifications: bool
    duplicate_notifications: bool
    slow_seconds: float
    _lock: threading.RLock
    _operations: dict[str, dict[str, Any]]
    _pending: list[Notification]
    _outbox: queue.Queue[Notification | None]
    _stopping: threading.Event

    def _expired(self, operation: dict[str, Any]) -> bool:
        raise NotImplementedError

    def _finish(self, idop: str, outcome: str) -> str:
        raise NotImplementedError

    def _notify(self, operation: dict[str, Any]) -> None:
        raise NotImplementedError
