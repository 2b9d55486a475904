"""The stand-in's payment page, in French, at PayFiP's address
``/tpa/paiementws.web?idop=…``: a test card pays or is refused, a button
abandons; then the browser goes back to the operation's urlredirect."""

from __future__ import annotations

import base64
import hashlib
import html
import urllib.parse
from typing import Any

from devtools.payfip_standin.common import (
    PAID_CARD,
    PAYMENT_PATH,
    REFUSED_CARD,
    StandinState,
    card_digits,
    format_amount,
)
from devtools.standin_http import page_headers

TITLE = "PayFiP – paiement sécurisé (banc d'essai local)"
BAD_CARD = (
    "Numéro de carte non reconnu : utilisez l'une des cartes de test "
    "indiquées ci-dessus."
)
OUTCOME_TEXTS = {
    "paid": "Le paiement a été accepté.",
    "refused": "Le paiement a été refusé.",
    "abandoned": "Le paiement a été abandonné.",
}

STYLE = """
*{box-sizing:border-box}
body{margin:0;font:1rem/1.5 system-ui,sans-serif;color:#1b1b1b;background:#f6f6f6}
main{max-width:32rem;margin:0 auto;padding:1rem;background:#fff;min-height:100vh}
header{border-bottom:4px solid #000091;margin-bottom:1rem}
.banner{background:#fff4ce;border:2px solid #8a6d00;padding:.5rem .75rem}
dl{display:grid;grid-template-columns:auto 1fr;gap:.25rem .75rem}
dt{font-weight:600}
dd{margin:0;overflow-wrap:anywhere}
label{display:block;font-weight:600}
input{width:100%;font:inherit;padding:.5rem;border:1px solid #555;border-radius:4px}
input[aria-invalid=true]{border:2px solid #b00020}
small{display:block;color:#444}
.actions{display:flex;flex-wrap:wrap;gap:.75rem}
button{font:inherit;font-weight:600;min-height:2.75rem;flex:1 1 10rem;border:0;
border-radius:4px;background:#000091;color:#fff;cursor:pointer}
button.secondary{background:#fff;color:#000091;border:2px solid #000091}
:focus-visible{outline:3px solid #000;outline-offset:2px}
.error{color:#b00020;font-weight:600;border-left:4px solid #b00020;padding-left:.5rem}
a{color:#000091}
"""
# The page's one inline style, allowed by its hash and nothing else.
STYLE_HASH = (
    "sha256-" + base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
)
PAGE_HEADERS = page_headers(f"'{STYLE_HASH}'")


class PageMixin(StandinState):
    """The payment page of `PayfipStandin`."""

    def _handle_page(
        self, method: str, query: str, body: str
    ) -> tuple[int, bytes, dict[str, str]]:
        """HTTP status, page and headers for a GET or a POST of the form."""
        params = urllib.parse.parse_qs(query, max_num_fields=20)
        form = (
            urllib.parse.parse_qs(body, max_num_fields=20) if method == "POST" else {}
        )
        idop = (form.get("idop") or params.get("idop") or [""])[0]
        with self._lock:
            operation = self._operations.get(idop)
            if operation is None:
                page = _page(
                    "Opération introuvable",
                    "<h1>Opération de paiement introuvable</h1>"
                    "<p>Ce lien de paiement n'existe pas ou plus.</p>",
                )
                return 404, page, dict(PAGE_HEADERS)
            if operation["status"] != "pending":
                return 200, _finished_page(operation), dict(PAGE_HEADERS)
            if self._expired(operation):
                return 200, _expired_page(operation), dict(PAGE_HEADERS)
            error = ""
            if method == "POST":
                action = (form.get("action") or ["pay"])[0]
                digits = card_digits((form.get("card_number") or [""])[0])
                outcome = {
                    card_digits(PAID_CARD): "paid",
                    card_digits(REFUSED_CARD): "refused",
                }.get(digits)
                if action == "abandon":
                    outcome = "abandoned"
                if outcome is None:
                    error = BAD_CARD
                else:
                    self._finish(idop, outcome)
                    headers = {**PAGE_HEADERS, "Location": operation["urlredirect"]}
                    return 303, b"", headers
            return 200, _payment_page(operation, error), dict(PAGE_HEADERS)


def _recap(operation: dict[str, Any]) -> str:
    esc = html.escape
    rows = [
        ("Montant", format_amount(int(operation["montant"]))),
        ("Objet", operation["objet"] or "—"),
        ("Référence", operation["refdet"]),
        ("Exercice", operation["exer"]),
        ("Courriel", operation["mel"]),
    ]
    items = "".join(
        f"<dt>{esc(name)}</dt><dd>{esc(value)}</dd>" for name, value in rows
    )
    return f"<dl>{items}</dl>"


def _payment_page(operation: dict[str, Any], error: str) -> bytes:
    esc = html.escape
    alert = ""
    described = "card-help"
    invalid = ""
    if error:
        alert = f"<p class=error role=alert id=card-error>{esc(error)}</p>"
        described = "card-error card-help"
        invalid = ' aria-invalid="true"'
    content = f"""<h1>Paiement par carte bancaire</h1>
<section aria-labelledby=recap>
<h2 id=recap>Votre paiement</h2>
{_recap(operation)}
</section>
<section aria-labelledby=card>
<h2 id=card>Votre carte</h2>
{alert}
<form method=post action="{PAYMENT_PATH}">
<input type=hidden name=idop value="{esc(operation["idop"])}">
<p><label for=card_number>Numéro de carte</label>
<input id=card_number name=card_number inputmode=numeric autocomplete=cc-number
 required aria-describedby="{described}"{invalid}>
<small id=card-help>16 chiffres, espaces acceptés.</small></p>
<p class=actions>
<button type=submit name=action value=pay>Payer</button>
<button type=submit name=action value=abandon class=secondary
 formnovalidate>Abandonner</button>
</p>
</form>
</section>"""
    return _page(TITLE, content)


def _back(operation: dict[str, Any]) -> str:
    url = html.escape(operation["urlredirect"])
    return f'<p><a href="{url}">Revenir au site de la collectivité</a></p>'


def _finished_page(operation: dict[str, Any]) -> bytes:
    content = (
        "<h1>Opération déjà terminée</h1>"
        f"<p>Cette opération de paiement est déjà terminée. "
        f"{html.escape(OUTCOME_TEXTS[operation['status']])}</p>"
        f"{_recap(operation)}{_back(operation)}"
    )
    return _page("Opération déjà terminée", content)


def _expired_page(operation: dict[str, Any]) -> bytes:
    content = (
        "<h1>Opération expirée</h1>"
        "<p>Cette opération de paiement a expiré (elle n'est valable que "
        "15 minutes) : aucun montant n'a été débité. Revenez sur le site de la "
        "collectivité pour payer à nouveau.</p>"
        f"{_back(operation)}"
    )
    return _page("Opération expirée", content)


def _page(title: str, content: str) -> bytes:
    heading = title if title == TITLE else f"{title} – {TITLE}"
    document = f"""<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(heading)}</title>
<style>{STYLE}</style>
</head>
<body>
<main>
<header><p><strong>PayFiP</strong> – paiement sécurisé</p></header>
<p class=banner role=note>
<strong>Banc d'essai local – aucune carte réelle n'est débitée.</strong>
Cartes de test : {PAID_CARD} (paiement accepté), {REFUSED_CARD} (paiement
refusé).
</p>
{content}
</main>
</body>
</html>
"""
    return document.encode("utf-8")
