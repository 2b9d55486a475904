"""The PayFiP edge: the only module that speaks to PayFiP, the Treasury's
online payment (DGFiP), through Entr'ouvert's `eopayment` and the WSDL it
ships (nothing is fetched at run time). `PROVIDER` answers the services'
provider interface (`paiements.remote.Provider`).

The flow: `creerPaiementSecurise` gives an operation id (`idop`) for an
amount, the payer's e-mail and a reference standing for the invoices
(`refdet`); the parent pays on PayFiP's page at `?idop=`; PayFiP posts
`idOp` to the notification address; the portal then asks
`recupererDetailPaiementSecurise` for the result. The notification is only
a trigger: anyone can post one, so the result is always read from PayFiP.

PayFiP's own limits: an e-mail is required, the amount is at least 1 €, an
idop is payable for 15 minutes, and while an operation is not finished PayFiP
answers "P5" (result unknown), also after those 15 minutes: it is taken as
closed only `RESULT_MARGIN` later. PayFiP cannot cancel an operation, and
refunds are the Treasury's, outside the portal.

With `PAYFIP_SERVICE_URL` set (development and tests only), the SOAP calls
go to that address, the local stand-in's, instead of the WSDL's.
"""

from __future__ import annotations

import datetime
import functools
import logging
from decimal import Decimal
from typing import Any

import eopayment
import requests
import zeep
from django.conf import settings
from django.utils import timezone
from eopayment import payfip_ws

from paiements.models import Payment
from paiements.remote import (
    CheckoutRequest,
    GatewayUnavailable,
    RemoteSession,
    from_cents,
)

logger = logging.getLogger(__name__)

# An idop is payable this long after it is created.
IDOP_MINUTES = 15
# PayFiP answers "result unknown" (P5) for an operation never finished; past
# the idop's life and this margin, the operation is taken as closed (a result
# that comes later all the same is recorded: see `card_payment_record`).
RESULT_MARGIN = datetime.timedelta(minutes=5)
PAYFIP_MIN_AMOUNT = Decimal("1.00")
# PayFiP's largest amount (eopayment refuses more).
PAYFIP_MAX_AMOUNT = Decimal("100000")


class _Transport(zeep.Transport):  # type: ignore[misc]
    """zeep's transport, sending every SOAP request to one address (the
    local stand-in) instead of the one written in the WSDL."""

    def __init__(self, address: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.address = address

    def post_xml(self, address: str, envelope: Any, headers: Any) -> Any:
        return super().post_xml(  # type: ignore[no-untyped-call]
            self.address, envelope, headers
        )


class _Backend(payfip_ws.Payment):  # type: ignore[misc]
    """eopayment's PayFiP backend with the portal's reading of unknown
    results: P5 means "in progress" for the idop's life plus a margin, not
    eopayment's two hours; an abandoned payment is closed at once (a payment
    made later on the same idop is still recorded when PayFiP tells of it)."""

    P5_WAITING_IN_MINUTES = IDOP_MINUTES + int(RESULT_MARGIN.total_seconds() // 60)
    CANCELLED_WAITING_IN_MINUTES = 0


@functools.cache
def _soap(address: str) -> payfip_ws.PayFiP:
    """One SOAP client per address and process: reading the WSDL costs."""
    kwargs = {"transport": _Transport(address)} if address else {}
    return payfip_ws.PayFiP(zeep_client_kwargs=kwargs)


def _backend(*, return_url: str = "", notify_url: str = "") -> _Backend:
    backend = _Backend(
        {
            "numcli": settings.PAYFIP_NUMCLI,
            "saisie": settings.PAYFIP_MODE,
            "normal_return_url": return_url,
            "automatic_return_url": notify_url,
        }
    )
    backend.payfip = _soap(settings.PAYFIP_SERVICE_URL)
    return backend


def payment_page_url(idop: str) -> str:
    base = settings.PAYFIP_PAYMENT_URL or payfip_ws.PAYMENT_URL
    return f"{base}?idop={idop}"


def _subject(request: CheckoutRequest) -> str:
    """The operation's object, as PayFiP shows it to the payer and to the
    commune's accounts (100 letters and digits at most)."""
    return str(
        payfip_ws.normalize_objet(
            "Cantine " + " ".join(label for label, _amount in request.lines)
        )
    )


def _unavailable(what: str, error: Exception) -> GatewayUnavailable:
    code = getattr(error, "code", "")
    logger.warning(
        "PayFiP %s failed: %s",
        what,
        error,
        extra={"event": "payfip_error", "code": str(code)},
    )
    return GatewayUnavailable(f"PayFiP {what}: {error}")


class PayfipProvider:
    """PayFiP behind the services' provider interface."""

    name = "payfip"
    payment_method = Payment.Method.PAYFIP.value
    min_amount = PAYFIP_MIN_AMOUNT
    email_required = True

    @property
    def session_minutes(self) -> int:
        return IDOP_MINUTES

    @property
    def min_expiry(self) -> datetime.timedelta:
        # The idop is created now: its life starts now.
        return datetime.timedelta(minutes=IDOP_MINUTES)

    def session_create(self, request: CheckoutRequest) -> RemoteSession:
        if not request.email:
            raise ValueError("PayFiP needs the payer's e-mail.")
        backend = _backend(
            return_url=request.success_url, notify_url=request.notify_url
        )
        try:
            idop, _kind, _url = backend.request(
                amount=request.total,
                email=request.email,
                refdet=request.reference,
                exer=str(timezone.localdate().year),
                subject=_subject(request),
                timeout=settings.PAYFIP_TIMEOUT_SECONDS,
            )
        except (payfip_ws.PayFiPError, requests.RequestException) as error:
            raise _unavailable("creerPaiementSecurise", error) from error
        return RemoteSession(
            id=str(idop),
            url=payment_page_url(str(idop)),
            status="open",
            paid=False,
            amount=request.total,
        )

    def session_retrieve(
        self, remote_id: str, *, expires_at: datetime.datetime
    ) -> RemoteSession:
        started = expires_at - datetime.timedelta(minutes=IDOP_MINUTES)
        try:
            response = _backend().payment_status(
                remote_id,
                transaction_date=started,
                timeout=settings.PAYFIP_TIMEOUT_SECONDS,
            )
        except (payfip_ws.PayFiPError, requests.RequestException) as error:
            raise _unavailable("recupererDetailPaiementSecurise", error) from error
        if response.result == eopayment.PAID:
            data = response.bank_data or {}
            return RemoteSession(
                id=remote_id,
                url=payment_page_url(remote_id),
                status="complete",
                paid=True,
                amount=from_cents(int(data.get("montant") or 0)),
                metadata={
                    key: str(data.get(key) or "")
                    for key in ("refdet", "numauto", "resultrans", "saisie")
                },
            )
        if response.result == eopayment.WAITING:
            status = "open"
        elif response.result in (
            eopayment.DENIED,
            eopayment.CANCELLED,
            eopayment.EXPIRED,
        ):
            status = "expired"
        else:
            raise GatewayUnavailable(f"PayFiP answered {response.bank_status}")
        return RemoteSession(
            id=remote_id,
            url=payment_page_url(remote_id),
            status=status,
            paid=False,
            amount=Decimal(0),
        )

    def session_expire(
        self, remote_id: str, *, expires_at: datetime.datetime
    ) -> RemoteSession:
        # PayFiP cannot cancel an operation: it closes by itself.
        return self.session_retrieve(remote_id, expires_at=expires_at)


PROVIDER = PayfipProvider()
