"""Payments' answers to what the apps below announce."""

from typing import Any

from django.dispatch import receiver

from factures.signals import invoices_changed
from paiements.rules import payment_rules
from paiements.services import block_states_notify
from portail.documents import document_context


@receiver(invoices_changed, dispatch_uid="paiements.block_notices")
def block_notices(sender: Any, *, family_ids: list[int], **kwargs: Any) -> None:
    block_states_notify(family_ids=family_ids)


@receiver(document_context, dispatch_uid="paiements.payment_dates")
def payment_dates(sender: Any, **kwargs: Any) -> dict[str, Any]:
    return {"rules": payment_rules()}
