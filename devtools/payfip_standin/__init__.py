"""A local stand-in of PayFiP, the online payment of the French Treasury
(DGFiP): a tool for developers and tests, outside the product.

The portal talks to it through the ``eopayment`` library (its ``PayFiP``
class, zeep with PayFiP's WSDL) whose SOAP requests are sent to this address
instead of PayFiP's, so card payments work offline and in tests:

* SOAP 1.1 at ``/tpa/services/securite``: ``creerPaiementSecurise`` (checks
  PayFiP's limits, answers a fresh idOp), ``recupererDetailPaiementSecurise``
  (the detail of a finished operation: resultrans P paid, R refused,
  A abandoned) and ``recupererDetailClient``;
* the payment page ``/tpa/paiementws.web?idop=…`` (in French), where a test
  card pays or is refused and a button abandons; an idOp opens it for 15
  minutes; then the browser goes back (303) to the operation's urlredirect;
* the notification PayFiP sends: a form POST ``idOp=<idop>`` to the
  operation's urlnotif, once, by a background thread, or queued for tests
  to take; with faults (lose, duplicate) and slow SOAP answers.

Its functional errors are SOAP faults ``FonctionnelleErreur`` (faultstring
``fr.gouv.finances.cp.tpa.webservice.exceptions.FonctionnelleErreur``, the
detail holding code, descriptif, libelle, severite), with these codes:

* P1 unknown idOp; P5 no result yet (the operation is not finished, also
  after its idOp expired): PayFiP's own, as answered to eopayment's tests;
* creerPaiementSecurise, first failure wins: T1 numcli not 6 digits, T2
  numcli not the stand-in's client (when it has one), E1 exer not 4 digits,
  R3 refdet not ``[A-Za-z0-9]{1,30}``, A1 mel missing, A2 mel without ``@``
  or not 6 to 80 characters, M1 montant not digits, M3 under 100 cents,
  M5 over 10 000 000 cents, S1 saisie not T, X or W, N1 urlnotif and
  D1 urlredirect not http(s) URLs. R3 and A2 are PayFiP's own (eopayment's
  recorded exchanges); T1, T2, A1, M1, M3, M5, S1, N1 and D1 follow a
  transcription of PayFiP's table of codes; E1 is the stand-in's own.

Standard library only: it must never import Django, eopayment or zeep, so
it runs anywhere. Never run it in production; it keeps everything in memory
and knows no card. Run it with `python -m devtools.payfip_standin` or
`manage.py payfip_standin` (development only). Its parts: `soap` (the
operations), `page` (the payment page), `notifications`, `server` (the
state and the HTTP server), `common` (limits, codes, checks).
"""

from devtools.payfip_standin.common import (
    ERRORS,
    IDOP_LIFETIME_SECONDS,
    PAID_CARD,
    PAYMENT_PATH,
    REFUSED_CARD,
    SOAP_PATH,
    Notification,
    PayfipFault,
    format_amount,
)
from devtools.payfip_standin.server import PayfipStandin

__all__ = [
    "ERRORS",
    "IDOP_LIFETIME_SECONDS",
    "PAID_CARD",
    "PAYMENT_PATH",
    "REFUSED_CARD",
    "SOAP_PATH",
    "Notification",
    "PayfipFault",
    "PayfipStandin",
    "format_amount",
]
