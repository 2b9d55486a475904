"""The stand-in's hosted checkout page, in French: test cards pay, are
declined or are refused."""

from __future__ import annotations

import html
import urllib.parse
from typing import Any

from devtools.stripe_standin.common import (
    MAX_FORM_FIELDS,
    StandinState,
    format_amount,
)


class PageMixin(StandinState):
    """The hosted page of `StripeStandin`."""

    def _handle_page(
        self, method: str, session_id: str, body: str
    ) -> tuple[int, bytes, dict[str, str]]:
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                page = _page(
                    "Session introuvable",
                    "<h1>Session de paiement introuvable</h1>"
                    "<p>Ce lien de paiement n'existe pas ou plus.</p>",
                )
                return 404, page, {}
            self._refresh(session)
            error = ""
            name = ""
            if method == "POST" and session["status"] == "open":
                form = urllib.parse.parse_qs(body, max_num_fields=MAX_FORM_FIELDS)
                card = form.get("card_number", [""])[0]
                name = form.get("cardholder_name", [""])[0]
                outcome = self._pay(session_id, card, name)
                if outcome == "paid":
                    target = session["success_url"].replace(
                        "{CHECKOUT_SESSION_ID}", session_id
                    )
                    return 303, b"", {"Location": target}
                if outcome == "declined":
                    error = "Votre carte a été refusée."
                elif outcome == "invalid_card":
                    error = "Numéro de carte invalide."
            if session["status"] != "open":
                return 200, self._closed_page(session), {}
            return 200, self._checkout_page(session, error, name), {}

    def _checkout_page(self, session: dict[str, Any], error: str, name: str) -> bytes:
        esc = html.escape
        currency = session["currency"]
        total = format_amount(session["amount_total"], currency)
        rows = "".join(
            "<tr><td>{name}</td><td class=num>{qty}</td>"
            "<td class=num>{amount}</td></tr>".format(
                name=esc(item["name"]),
                qty=item["quantity"],
                amount=esc(format_amount(item["amount_total"], currency)),
            )
            for item in self._line_items[session["id"]]
        )
        alert = ""
        invalid = ""
        if error:
            alert = f"<p class=error role=alert id=card-error>{esc(error)}</p>"
            invalid = ' aria-invalid="true" aria-describedby="card-error card-help"'
        else:
            invalid = ' aria-describedby="card-help"'
        cancel = ""
        if session["cancel_url"]:
            cancel = (
                f'<p><a href="{esc(session["cancel_url"])}">'
                "Annuler et revenir au portail</a></p>"
            )
        action = esc(f"/checkout/{session['id']}")
        content = f"""<h1>Paiement par carte</h1>
<section aria-labelledby=recap>
<h2 id=recap>Récapitulatif</h2>
<table>
<thead><tr><th scope=col>Article</th><th scope=col class=num>Quantité</th>
<th scope=col class=num>Montant</th></tr></thead>
<tbody>{rows}</tbody>
<tfoot><tr><th scope=row colspan=2>Total</th>
<td class=num><strong>{esc(total)}</strong></td></tr></tfoot>
</table>
</section>
<section aria-labelledby=card>
<h2 id=card>Votre carte</h2>
{alert}
<form method=post action="{action}">
<p><label for=card_number>Numéro de carte</label>
<input id=card_number name=card_number inputmode=numeric autocomplete=cc-number
 required{invalid}>
<small id=card-help>16 chiffres, espaces acceptés.</small></p>
<p><label for=card_expiry>Date d'expiration (MM/AA)</label>
<input id=card_expiry name=card_expiry autocomplete=cc-exp placeholder=MM/AA
 required></p>
<p><label for=card_cvc>Cryptogramme (3 chiffres au dos de la carte)</label>
<input id=card_cvc name=card_cvc inputmode=numeric autocomplete=cc-csc
 maxlength=4 required></p>
<p><label for=cardholder_name>Nom du titulaire</label>
<input id=cardholder_name name=cardholder_name autocomplete=cc-name
 value="{esc(name)}" required></p>
<p><button type=submit>Payer {esc(total)}</button></p>
</form>
</section>
{cancel}"""
        return _page("Paiement par carte", content)

    @staticmethod
    def _closed_page(session: dict[str, Any]) -> bytes:
        esc = html.escape
        if session["status"] == "complete":
            title = "Paiement déjà effectué"
            text = (
                "Ce paiement a déjà été effectué. Aucun autre montant n'a été débité."
            )
        else:
            title = "Session de paiement expirée"
            text = (
                "Cette session de paiement a expiré : aucun montant n'a été "
                "débité. Revenez au portail pour payer à nouveau."
            )
        back = session["cancel_url"] or session["success_url"].replace(
            "{CHECKOUT_SESSION_ID}", session["id"]
        )
        content = (
            f"<h1>{esc(title)}</h1><p>{esc(text)}</p>"
            f'<p><a href="{esc(back)}">Revenir au portail</a></p>'
        )
        return _page(title, content)


# Served at this path, so that the page's policy forbids inline styles.
STYLESHEET_PATH = "/checkout/page.css"
STYLE = """
*{box-sizing:border-box}
body{margin:0;font:1rem/1.5 system-ui,sans-serif;color:#1b1b1b;background:#f6f6f6}
main{max-width:32rem;margin:0 auto;padding:1rem;background:#fff;min-height:100vh}
.banner{background:#fff4ce;border:2px solid #8a6d00;padding:.5rem .75rem}
table{width:100%;border-collapse:collapse}
th,td{text-align:left;padding:.35rem .25rem;border-bottom:1px solid #ccc;
overflow-wrap:anywhere}
.num{text-align:right;white-space:nowrap}
label{display:block;font-weight:600}
input{width:100%;font:inherit;padding:.5rem;border:1px solid #555;border-radius:4px}
input[aria-invalid=true]{border:2px solid #b00020}
small{display:block;color:#444}
button{font:inherit;font-weight:600;min-height:2.75rem;width:100%;border:0;
border-radius:4px;background:#1d3f8c;color:#fff;cursor:pointer}
:focus-visible{outline:3px solid #000;outline-offset:2px}
.error{color:#b00020;font-weight:600;border-left:4px solid #b00020;padding-left:.5rem}
a{color:#1d3f8c}
"""


def _page(title: str, content: str) -> bytes:
    document = f"""<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} – Simulateur de paiement</title>
<link rel="stylesheet" href="{STYLESHEET_PATH}">
</head>
<body>
<main>
<p class=banner role=note>
<strong>Simulateur de paiement – aucune carte réelle n'est débitée.</strong>
Cartes de test : 4242 4242 4242 4242 (acceptée), 4000 0000 0000 0002 (refusée).
</p>
{content}
</main>
</body>
</html>
"""
    return document.encode("utf-8")
