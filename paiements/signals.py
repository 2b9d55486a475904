"""Payments' answers to what the apps below announce."""

from typing import Any

from django.dispatch import receiver

from factures.signals import invoice_credited, invoices_changed
from paiements.credit import allocations_release
from paiements.notices import block_states_notify
from paiements.rules import payment_rules
from portail.documents import document_context


@receiver(invoices_changed, dispatch_uid="paiements.block_notices")
def block_notices(sender: Any, *, family_ids: list[int], **kwargs: Any) -> None:
    block_states_notify(family_ids=family_ids)


@receiver(invoice_credited, dispatch_uid="paiements.allocations_release")
def credit_note_issued(sender: Any, *, invoice_id: int, **kwargs: Any) -> None:
    allocations_release(invoice_id=invoice_id)


@receiver(document_context, dispatch_uid="paiements.payment_dates")
def payment_dates(sender: Any, **kwargs: Any) -> dict[str, Any]:
    return {"rules": payment_rules()}
