"""The stand-in's SOAP 1.1 endpoint: PayFiP's three operations, read from
the envelopes zeep sends for PayFiP's WSDL and answered as PayFiP's
JAX-WS service answers them (document/literal, the wrapper in the WSDL's
namespace, its children unqualified)."""

from __future__ import annotations

import xml.etree.ElementTree as ET  # noqa: S405 - no DTD accepted, see _parse
from typing import Any
from xml.sax.saxutils import escape

from devtools.payfip_standin.common import (
    FONCTIONNELLE_ERREUR,
    NUMCLI_PATTERN,
    SOAP_ENV,
    TNS,
    PayfipFault,
    StandinState,
    check_payment,
    new_idop,
)

# The operations and the order of the fields of their answers (the XSD's).
DETAIL_FIELDS = (
    "dattrans",
    "exer",
    "heurtrans",
    "idOp",
    "mel",
    "montant",
    "numauto",
    "numcli",
    "objet",
    "refdet",
    "resultrans",
    "saisie",
)
# What recupererDetailClient answers for any known client.
CLIENT_LABELS = (
    ("libelleN1", "COMMUNE BANC D ESSAI"),
    ("libelleN2", "REGIE CANTINE SCOLAIRE"),
    ("libelleN3", "PAYFIP STAND IN LOCAL"),
)


class SoapError(Exception):
    """A request the service cannot read: a plain SOAP fault (not a
    FonctionnelleErreur), as a JAX-WS service answers it."""

    def __init__(self, message: str, faultcode: str = "S:Client") -> None:
        super().__init__(message)
        self.message = message
        self.faultcode = faultcode


def envelope(body: str) -> bytes:
    return (
        "<?xml version='1.0' encoding='UTF-8'?>"
        f'<S:Envelope xmlns:S="{SOAP_ENV}"><S:Body>{body}</S:Body></S:Envelope>'
    ).encode()


def _fields(values: list[tuple[str, str | None]]) -> str:
    return "".join(
        f"<{name}>{escape(value)}</{name}>" for name, value in values if value
    )


def response(operation: str, values: list[tuple[str, str | None]]) -> bytes:
    """The answer to `operation`: its wrapper holding <return>."""
    return envelope(
        f'<ns2:{operation}Response xmlns:ns2="{TNS}">'
        f"<return>{_fields(values)}</return></ns2:{operation}Response>"
    )


def functional_fault(fault: PayfipFault) -> bytes:
    """A FonctionnelleErreur, shaped as eopayment's fault_to_exception reads
    it (and as its XSD says: severite is required)."""
    detail = _fields(
        [
            ("code", fault.code),
            ("descriptif", fault.descriptif),
            ("libelle", fault.libelle),
        ]
    )
    return envelope(
        "<S:Fault><faultcode>S:Server</faultcode>"
        f"<faultstring>{FONCTIONNELLE_ERREUR}</faultstring>"
        f'<detail><ns2:FonctionnelleErreur xmlns:ns2="{TNS}">{detail}'
        "<severite>2</severite></ns2:FonctionnelleErreur></detail></S:Fault>"
    )


def plain_fault(error: SoapError) -> bytes:
    return envelope(
        f"<S:Fault><faultcode>{error.faultcode}</faultcode>"
        f"<faultstring>{escape(error.message)}</faultstring></S:Fault>"
    )


def _parse(body: bytes) -> tuple[str, dict[str, str]]:
    """The operation's name and its <arg0>'s fields."""
    if b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        raise SoapError("DTDs are not allowed.")
    try:
        root = ET.fromstring(body)  # noqa: S314 - no DTD, so no entity
    except ET.ParseError as error:
        raise SoapError(f"Unreadable XML: {error}") from error
    soap_body = root.find(f"{{{SOAP_ENV}}}Body")
    if root.tag != f"{{{SOAP_ENV}}}Envelope" or soap_body is None:
        raise SoapError("Not a SOAP 1.1 envelope.")
    wrapper = next(iter(soap_body), None)
    if wrapper is None or not wrapper.tag.startswith(f"{{{TNS}}}"):
        raise SoapError("No operation of PaiementSecuriseService in the body.")
    operation = _local(wrapper.tag)
    fields = {}
    for arg in wrapper:
        if _local(arg.tag) == "arg0":
            # zeep sends them unqualified, as the XSD says; others may not.
            fields.update({_local(f.tag): (f.text or "").strip() for f in arg})
    return operation, fields


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


class SoapMixin(StandinState):
    """The SOAP operations of `PayfipStandin`."""

    def _handle_soap(self, body: bytes) -> tuple[int, bytes]:
        """HTTP status and envelope for one SOAP request."""
        try:
            operation, fields = _parse(body)
            handler = {
                "creerPaiementSecurise": self._create,
                "recupererDetailPaiementSecurise": self._payment_detail,
                "recupererDetailClient": self._client_detail,
            }.get(operation)
            if handler is None:
                raise SoapError(f"Cannot find dispatch method for {operation}")
            return 200, response(operation, handler(fields))
        except PayfipFault as fault:
            return 500, functional_fault(fault)
        except SoapError as error:
            return 500, plain_fault(error)

    def _create(self, fields: dict[str, str]) -> list[tuple[str, str | None]]:
        operation = check_payment(fields, self.numcli)
        with self._lock:
            idop = new_idop()
            operation.update(
                idop=idop,
                created_at=self.now(),
                status="pending",
                resultrans=None,
                numauto=None,
                finished_at=None,
                dattrans=None,
                heurtrans=None,
            )
            self._operations[idop] = operation
        return [("idOp", idop)]

    def _payment_detail(self, fields: dict[str, str]) -> list[tuple[str, str | None]]:
        idop = fields.get("idOp", "")
        with self._lock:
            operation = self._operations.get(idop)
            if operation is None:
                raise PayfipFault("P1")
            # Pending, on the page or expired: PayFiP knows no result yet.
            if operation["status"] == "pending":
                raise PayfipFault("P5")
            values: dict[str, Any] = {**operation, "idOp": idop}
        return [(name, values[name]) for name in DETAIL_FIELDS]

    def _client_detail(self, fields: dict[str, str]) -> list[tuple[str, str | None]]:
        numcli = fields.get("numCli", "")
        if not NUMCLI_PATTERN.match(numcli):
            raise PayfipFault("T1")
        if self.numcli is not None and numcli != self.numcli:
            raise PayfipFault("T2")
        return [*CLIENT_LABELS, ("numcli", numcli)]
