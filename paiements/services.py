"""Writes of the payments app. Every change of money runs in a transaction,
under row locks, and is idempotent: a webhook delivered twice, a double click
or a reconciliation running beside the webhook records one payment."""

from __future__ import annotations

import datetime
import logging
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Exists, OuterRef, Sum
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from factures.models import Invoice
from factures.money import ZERO, format_euros
from factures.numbering import RECEIPT_SERIES, next_number
from familles.models import Family, Guardian, User
from paiements import stripe_gateway
from paiements.accounts import family_credits
from paiements.credit import refund_provider_update
from paiements.models import (
    Allocation,
    CheckoutItem,
    CheckoutSession,
    Payment,
    PaymentOverride,
    ReminderSent,
    WebhookEvent,
)
from paiements.notices import block_state_notify
from paiements.providers import provider
from paiements.remote import (
    CheckoutRequest,
    GatewayUnavailable,
    Provider,
    RemoteSession,
    UnknownSession,
)
from paiements.rules import card_payment_decision, family_owing, unpaid_after_credits
from paiements.tasks import (
    send_payment_receipt,
    send_payment_reminders,
)

logger = logging.getLogger(__name__)

DESK_METHODS = {Payment.Method.CASH, Payment.Method.CARD_DESK, Payment.Method.CHEQUE}


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


# --- Card payments -------------------------------------------------------------


def card_checkout_start(
    *,
    family: Family,
    invoices: list[Invoice],
    idempotency_key: str,
    user: User | None,
    return_url: str,
    cancel_url: str,
    today: datetime.date | None = None,
) -> CheckoutSession:
    """Open (or, for the same key, find again) an online payment of these
    invoices with the commune's provider. The rules are checked here, when
    the payment is created."""
    online = provider()
    if not CheckoutSession.objects.filter(idempotency_key=idempotency_key).exists():
        _close_open_sessions(family=family, invoices=invoices)
    try:
        with transaction.atomic():
            Family.objects.select_for_update(no_key=True).get(pk=family.pk)
            checkout = CheckoutSession.objects.filter(
                idempotency_key=idempotency_key
            ).first()
            if checkout is None:
                checkout = _checkout_create(
                    family=family,
                    invoices=invoices,
                    idempotency_key=idempotency_key,
                    user=user,
                    today=today,
                    online=online,
                )
    except IntegrityError:
        # The same key arrived twice at once: the other request created it.
        checkout = CheckoutSession.objects.get(idempotency_key=idempotency_key)
    if checkout.family_id != family.pk:
        raise ValidationError(_("This payment request is not yours."))
    if checkout.remote_id:
        return checkout
    if checkout.status != CheckoutSession.Status.OPEN:
        raise ValidationError(_("These invoices cannot be paid online."))
    online = provider(checkout.provider)
    email = _payer_email(family=family, user=user)
    items = list(checkout.items.select_related("invoice"))
    try:
        with transaction.atomic():
            # One request at a time asks the provider for this checkout (a
            # double click sends two at once): a provider without
            # idempotency keys (PayFiP) would otherwise open two payments,
            # one of them unknown here.
            checkout = CheckoutSession.objects.select_for_update().get(pk=checkout.pk)
            if checkout.remote_id:
                return checkout
            # Every request with this key must send the provider the same
            # parameters (Stripe refuses a key reused with others): the
            # expiry chosen at creation is kept, unless it has come too near
            # for the provider (a retry long after an outage; PayFiP's idop,
            # whose life starts now), then a fresh one.
            if checkout.expires_at < timezone.now() + online.min_expiry:
                checkout.expires_at = _session_expiry(online)
                CheckoutSession.objects.filter(pk=checkout.pk).update(
                    expires_at=checkout.expires_at
                )
            remote = online.session_create(
                CheckoutRequest(
                    idempotency_key=idempotency_key,
                    reference=_reference(checkout, family),
                    lines=[
                        (
                            _("Invoice %(number)s – %(month)s")
                            % {
                                "number": item.invoice.number,
                                "month": formats.date_format(
                                    item.invoice.period, "F Y"
                                ),
                            },
                            item.amount,
                        )
                        for item in items
                    ],
                    metadata={
                        "checkout": str(checkout.pk),
                        "family": family.identifier,
                    },
                    success_url=f"{return_url}?paiement={checkout.pk}",
                    cancel_url=f"{cancel_url}?paiement={checkout.pk}",
                    notify_url=_notify_url(),
                    expires_at=checkout.expires_at,
                    email=email,
                )
            )
            CheckoutSession.objects.filter(pk=checkout.pk).update(
                remote_id=remote.id, url=remote.url
            )
    except GatewayUnavailable as error:
        logger.warning("Checkout session %s not created: %s", checkout.pk, error)
        raise ValidationError(
            _(
                "Online payment is unavailable for the moment. Please try again "
                "in a few minutes, or pay at the canteen desk."
            )
        ) from error
    logger.info(
        "card payment started",
        extra={
            "event": "checkout_created",
            "checkout": checkout.pk,
            "provider": online.name,
            "family": family.identifier,
            "amount": str(checkout.amount),
        },
    )
    checkout.remote_id, checkout.url = remote.id, remote.url
    return checkout


def _notify_url() -> str:
    """Where a provider that notifies by address (PayFiP) posts the outcome:
    the portal's public address, as the DGFiP is given it."""
    return settings.PORTAIL_COMMUNE["portal_url"].rstrip("/") + reverse(
        "paiements:payfip_notification"
    )


def _payer_email(*, family: Family, user: User | None) -> str | None:
    """The address the provider sends its receipt to: the parent's login,
    or else the first guardian's on file."""
    if user is not None and user.email:
        return str(user.email)
    guardian = (
        Guardian.objects.filter(family=family).exclude(email="").order_by("pk").first()
    )
    return guardian.email if guardian is not None else None


def online_payment_limits_check(
    *, family: Family, user: User | None, amount: Decimal
) -> None:
    """The commune's provider's own limits (its smallest amount, an e-mail
    it needs), checked before the parent is sent to it: ValidationError
    with the way out."""
    _provider_limits_check(
        provider(), amount=amount, email=_payer_email(family=family, user=user)
    )


def _provider_limits_check(
    online: Provider, *, amount: Decimal, email: str | None
) -> None:
    if amount < online.min_amount:
        raise ValidationError(
            _(
                "Online payment takes %(minimum)s at least: please pay this "
                "amount at the canteen desk."
            )
            % {"minimum": format_euros(online.min_amount)}
        )
    if online.email_required and not email:
        raise ValidationError(
            _(
                "Online payment needs an e-mail address, for the payment "
                "receipt: add one to your dossier, or pay at the canteen desk."
            )
        )


def _reference(checkout: CheckoutSession, family: Family) -> str:
    """The payment's reference at the provider (PayFiP's refdet, letters and
    digits, 30 at most): the family's identifier and the checkout's number,
    so that the commune's accounts find both."""
    return "".join(ch for ch in family.identifier if ch.isalnum())[:18] + (
        f"C{checkout.pk}"
    )


def _session_expiry(online: Provider) -> datetime.datetime:
    return timezone.now() + datetime.timedelta(minutes=online.session_minutes)


def _close_open_sessions(*, family: Family, invoices: list[Invoice]) -> None:
    """A family that starts a new payment for invoices already in an open
    one (a tab closed, a second device) must not pay twice: the old payment
    is closed at the provider first, or recorded if the provider says it was
    paid. A provider that cannot close it (PayFiP) keeps it open until its
    page has expired: the family is asked to wait until then."""
    open_sessions = CheckoutSession.objects.filter(
        family=family,
        status=CheckoutSession.Status.OPEN,
        remote_id__isnull=False,
        items__invoice__in=invoices,
    ).distinct()
    in_progress = _(
        "A payment for these invoices is already in progress. "
        "Please try again in a few minutes."
    )
    for checkout in open_sessions:
        if not checkout.remote_id:  # never sent: nothing to close
            continue
        online = provider(checkout.provider)
        try:
            remote = online.session_expire(
                checkout.remote_id, expires_at=checkout.expires_at
            )
        except UnknownSession:
            _checkout_expired(remote_id=checkout.remote_id)
            continue
        except GatewayUnavailable as error:
            raise ValidationError(in_progress) from error
        if remote.status == "complete":
            card_payment_record(remote=remote)
        elif remote.status == "expired":
            _checkout_expired(remote_id=remote.id)
        elif timezone.now() < checkout.expires_at:
            raise ValidationError(in_progress)


def _checkout_create(
    *,
    family: Family,
    invoices: list[Invoice],
    idempotency_key: str,
    user: User | None,
    today: datetime.date | None,
    online: Provider,
) -> CheckoutSession:
    # Invoices are always locked in primary-key order (desk payments and card
    # payments too), so that two payments never wait on each other in a cycle.
    fresh = sorted(
        Invoice.objects.with_balance()
        .select_for_update(of=("self",))
        .filter(pk__in=[invoice.pk for invoice in invoices])
        .order_by("pk"),
        key=lambda invoice: invoice.period,
    )
    decision = card_payment_decision(family=family, invoices=fresh, today=today)
    if not decision.allowed or len(fresh) != len(invoices):
        raise ValidationError(
            decision.reason or _("These invoices cannot be paid online.")
        )
    amount = sum((invoice.due for invoice in fresh), ZERO)
    _provider_limits_check(
        online, amount=amount, email=_payer_email(family=family, user=user)
    )
    checkout = CheckoutSession.objects.create(
        family=family,
        idempotency_key=idempotency_key,
        provider=online.name,
        amount=amount,
        expires_at=_session_expiry(online),
        created_by=user,
    )
    CheckoutItem.objects.bulk_create(
        CheckoutItem(checkout=checkout, invoice=invoice, amount=invoice.due)
        for invoice in fresh
    )
    return checkout


def card_payment_record(*, remote: RemoteSession) -> Payment | None:
    """Record the money of an online payment that its provider says is paid.

    Money confirmed by the provider is always recorded — after the window closed,
    after the family became blocked, after the invoices were settled at the
    desk: what no invoice still needs stays unallocated, an overpayment the
    agents refund or credit. Idempotent: the session's payment, once made, is
    returned as it is.
    """
    if remote.status != "complete" or not remote.paid:
        return None
    with transaction.atomic():
        checkout = (
            CheckoutSession.objects.select_for_update()
            .filter(remote_id=remote.id)
            .first()
        )
        if checkout is None:
            raise ValidationError(f"Unknown online payment {remote.id}")
        existing = Payment.objects.filter(checkout=checkout).first()
        if existing is not None:
            return existing
        anomaly = _payment_anomaly(remote=remote, checkout=checkout)
        # The invoices before the receipt counter, in primary-key order: the
        # order every payment takes its locks in.
        items = list(checkout.items.order_by("invoice__period", "invoice__number"))
        list(
            Invoice.objects.select_for_update()
            .filter(pk__in=[item.invoice_id for item in items])
            .order_by("pk")
        )
        dues = {
            invoice.pk: invoice.due
            for invoice in Invoice.objects.with_balance().filter(
                pk__in=[item.invoice_id for item in items]
            )
        }
        payment = Payment.objects.create(
            number=next_number(series=RECEIPT_SERIES, year=timezone.localdate().year),
            family=checkout.family,
            method=provider(checkout.provider).payment_method,
            amount=remote.amount,
            checkout=checkout,
            reference=remote.id,
            anomaly=anomaly,
        )
        # Money in another currency pays no invoice: the agents check it.
        left = remote.amount if remote.currency == CURRENCY else ZERO
        for item in items:
            share = min(item.amount, dues[item.invoice_id], left)
            if share > ZERO:
                Allocation.objects.create(
                    payment=payment, invoice_id=item.invoice_id, amount=share
                )
                left -= share
        checkout.status = CheckoutSession.Status.COMPLETE
        checkout.closed_at = timezone.now()
        checkout.save(update_fields=["status", "closed_at"])
        _after_payment(payment)
    return payment


CURRENCY = "eur"


def _payment_anomaly(*, remote: RemoteSession, checkout: CheckoutSession) -> str:
    """What differs between the money received and the money asked, for the
    agents to check (money confirmed by the provider is recorded all the
    same)."""
    problems = []
    if remote.currency != CURRENCY:
        problems.append(
            _("Currency received %(received)s instead of %(asked)s.")
            % {"received": remote.currency.upper(), "asked": CURRENCY.upper()}
        )
    if remote.amount != checkout.amount:
        problems.append(
            _("Amount received %(received)s differs from the amount asked %(asked)s.")
            % {
                "received": format_euros(remote.amount),
                "asked": format_euros(checkout.amount),
            }
        )
    if problems:
        logger.warning(
            "card payment differs from its session: %s",
            " ".join(problems),
            extra={
                "event": "payment_anomaly",
                "checkout": remote.id,
                "family": checkout.family.identifier,
            },
        )
    return " ".join(problems)


def card_checkout_cancel(*, checkout: CheckoutSession) -> CheckoutSession:
    """The parent left the provider's page without paying ("cancel and go
    back"): the session is closed at the provider, so that the portal never
    says "in progress" about a payment that cannot happen any more. If the
    provider says it was paid after all (a payment made in another tab), it
    is recorded as the webhook would. If the provider cannot be reached,
    the session stays open and expires by itself. Returns the session as it
    now is."""
    return _checkout_ask(checkout, close=True)


def card_checkout_refresh(*, checkout: CheckoutSession) -> CheckoutSession:
    """Ask the provider how an open payment stands and record what it says:
    the return page of a provider whose notification may come after the
    parent (PayFiP), and its notification. Returns the session as it now
    is; unchanged if the provider cannot be reached."""
    return _checkout_ask(checkout, close=False)


def _checkout_ask(checkout: CheckoutSession, *, close: bool) -> CheckoutSession:
    if checkout.status != CheckoutSession.Status.OPEN or not checkout.remote_id:
        return checkout
    online = provider(checkout.provider)
    ask = online.session_expire if close else online.session_retrieve
    try:
        remote = ask(checkout.remote_id, expires_at=checkout.expires_at)
    except UnknownSession:
        _checkout_expired(remote_id=checkout.remote_id)
    except GatewayUnavailable:
        logger.warning(
            "online payment not read, provider unreachable",
            extra={"event": "checkout_read_unreachable", "checkout": checkout.pk},
        )
    else:
        _checkout_settle(remote)
    checkout.refresh_from_db()
    return checkout


def _checkout_settle(remote: RemoteSession) -> Payment | None:
    """Record what the provider says of a payment: paid, or closed."""
    if remote.status == "complete":
        return card_payment_record(remote=remote)
    if remote.status == "expired":
        _checkout_expired(remote_id=remote.id)
    return None


def _checkout_expired(*, remote_id: str) -> None:
    closed = CheckoutSession.objects.filter(
        remote_id=remote_id, status=CheckoutSession.Status.OPEN
    ).update(status=CheckoutSession.Status.EXPIRED, closed_at=timezone.now())
    if closed:
        logger.info(
            "card payment expired",
            extra={"event": "checkout_expired", "checkout": remote_id},
        )


@dataclass(frozen=True)
class WebhookOutcome:
    status: int
    message: str


def stripe_webhook_process(*, payload: bytes, signature: str | None) -> WebhookOutcome:
    """The webhook, in a fixed order: verify the signature, refuse a body
    that is not a well-formed event, whitelist the event type, dedupe by
    event id, re-read the session or refund from Stripe (the event is only a
    trigger), record, and note the outcome."""
    try:
        event = stripe_gateway.event_verify(payload, signature)
    except ValueError:
        return WebhookOutcome(400, "bad signature")
    object_id = stripe_gateway.event_object_id(event)
    if object_id is None:
        # Signed by Stripe but not an event: retrying will not mend it.
        logger.warning("Stripe webhook: a signed body that is not an event")
        return WebhookOutcome(400, "malformed event")
    if event["type"] not in stripe_gateway.ALL_HANDLED_EVENTS:
        return WebhookOutcome(200, "ignored")
    if WebhookEvent.objects.filter(stripe_id=event["id"]).exists():
        return WebhookOutcome(200, "duplicate")
    if event["type"] in stripe_gateway.REFUND_EVENTS:
        return _refund_event(event, object_id)
    try:
        remote = stripe_gateway.session_retrieve(object_id)
    except stripe_gateway.UnknownSession:
        logger.error("Stripe event %s names an unknown session", event["id"])
        return WebhookOutcome(200, "unknown session")
    except stripe_gateway.GatewayUnavailable:
        # 5xx: Stripe delivers the event again later.
        return WebhookOutcome(503, "stripe unavailable")
    try:
        with transaction.atomic():
            record = _event_record(event)
            if record is None:
                return WebhookOutcome(200, "duplicate")
            if remote.status == "complete":
                payment = card_payment_record(remote=remote)
                outcome = f"payment {payment.number}" if payment else "not paid"
            elif remote.status == "expired":
                _checkout_expired(remote_id=remote.id)
                outcome = "expired"
            else:
                outcome = f"session {remote.status}"
            record.outcome = outcome
            record.save(update_fields=["outcome"])
    except ValidationError as error:
        logger.error("Stripe event %s: %s", event["id"], error)
        return WebhookOutcome(200, "unknown session")
    return WebhookOutcome(200, outcome)


def _event_record(event: Any) -> WebhookEvent | None:
    """Note the event as received; None if another delivery of the same
    event, at the same moment, has it."""
    try:
        with transaction.atomic():
            return WebhookEvent.objects.create(
                stripe_id=event["id"], type=event["type"]
            )
    except IntegrityError:
        return None


def _refund_event(event: Any, refund_id: str) -> WebhookOutcome:
    try:
        remote = stripe_gateway.refund_retrieve(refund_id)
    except stripe_gateway.UnknownRefund:
        logger.error("Stripe event %s names an unknown refund", event["id"])
        return WebhookOutcome(200, "unknown refund")
    except stripe_gateway.GatewayUnavailable:
        return WebhookOutcome(503, "stripe unavailable")
    with transaction.atomic():
        record = _event_record(event)
        if record is None:
            return WebhookOutcome(200, "duplicate")
        refund = refund_provider_update(remote=remote)
        record.outcome = (
            f"refund {refund.number} {refund.status}" if refund else "unknown refund"
        )
        record.save(update_fields=["outcome"])
    return WebhookOutcome(200, record.outcome)


def payfip_notification_process(*, idop: str) -> WebhookOutcome:
    """PayFiP's notification (`idOp` posted to the notification address).
    Anyone may post one, so it is only a trigger: the operation must be one
    of ours, and its result is read from PayFiP. Delivered twice, late, or
    after the return page or reconciliation read it: one payment."""
    idop = idop.strip()
    if not idop or len(idop) > 255:
        return WebhookOutcome(400, "no idOp")
    checkout = CheckoutSession.objects.filter(
        remote_id=idop, provider=CheckoutSession.Provider.PAYFIP
    ).first()
    if checkout is None:
        logger.warning("PayFiP notification for an unknown operation %s", idop)
        return WebhookOutcome(200, "unknown operation")
    online = provider(checkout.provider)
    try:
        remote = online.session_retrieve(idop, expires_at=checkout.expires_at)
    except (GatewayUnavailable, UnknownSession) as error:
        # Recorded later by reconciliation, which asks again.
        logger.warning("PayFiP notification %s not read: %s", idop, error)
        return WebhookOutcome(503, "payfip unavailable")
    payment = _checkout_settle(remote)
    outcome = f"payment {payment.number}" if payment else f"operation {remote.status}"
    logger.info(
        "PayFiP notification",
        extra={"event": "payfip_notification", "checkout": idop, "outcome": outcome},
    )
    return WebhookOutcome(200, outcome)


@dataclass
class ReconcileResult:
    recorded: list[Payment] = field(default_factory=list)
    expired: int = 0
    still_open: int = 0
    errors: int = 0


def payments_reconcile(
    *,
    family: Family | None = None,
    older_than: datetime.timedelta | None = None,
    now: datetime.datetime | None = None,
) -> ReconcileResult:
    """Ask the providers about payments still open after some minutes: record the
    paid ones, close the expired ones, expire the overdue ones. Safe to run at
    any time, as often as wanted (each step is idempotent)."""
    now = now or timezone.now()
    if older_than is None:
        older_than = datetime.timedelta(
            minutes=settings.PORTAIL_RECONCILE_AFTER_MINUTES
        )
    result = ReconcileResult()
    pending = CheckoutSession.objects.filter(
        status=CheckoutSession.Status.OPEN, created_at__lte=now - older_than
    )
    if family is not None:
        pending = pending.filter(family=family)
    for checkout in pending.order_by("created_at"):
        if not checkout.remote_id:
            if now >= checkout.expires_at:
                CheckoutSession.objects.filter(pk=checkout.pk).update(
                    status=CheckoutSession.Status.EXPIRED, closed_at=now
                )
                result.expired += 1
            continue
        online = provider(checkout.provider)
        try:
            remote = online.session_retrieve(
                checkout.remote_id, expires_at=checkout.expires_at
            )
            if remote.status == "open" and now >= checkout.expires_at:
                remote = online.session_expire(
                    checkout.remote_id, expires_at=checkout.expires_at
                )
        except (GatewayUnavailable, UnknownSession) as error:
            logger.warning("Reconciling %s: %s", checkout.remote_id, error)
            result.errors += 1
            continue
        if remote.status == "complete":
            try:
                payment = card_payment_record(remote=remote)
            except DatabaseError as error:
                # One session's trouble (a lock timeout…) never stops the job.
                logger.error("Reconciling %s: %s", checkout.remote_id, error)
                result.errors += 1
                continue
            if payment is not None:
                result.recorded.append(payment)
        elif remote.status == "expired":
            _checkout_expired(remote_id=remote.id)
            result.expired += 1
        else:
            result.still_open += 1
    return result


# --- Desk payments ---------------------------------------------------------------


def desk_allocation_default(
    *, amount: Decimal, invoices: list[Invoice]
) -> dict[int, Decimal]:
    """The money received spread over the invoices still to pay, oldest
    first, each up to what it owes. Disputed invoices are left alone: the
    family was told not to pay them until its report is closed."""
    allocations = {}
    for invoice in sorted(invoices, key=lambda invoice: (invoice.period, invoice.pk)):
        if invoice.state not in Invoice.UNPAID_STATES:
            continue
        share = min(invoice.due, amount)
        if share > ZERO:
            allocations[invoice.pk] = share
            amount -= share
    return allocations


def payment_record_desk(
    *,
    family: Family,
    method: str,
    amount: Decimal,
    allocations: dict[int, Decimal] | None,
    agent: User | None,
    reference: str = "",
    keep_as_credit: str = "",
) -> Payment:
    """Money taken at the canteen desk (any day), allocated to the family's
    invoices as the agent says, or, when the agent gives no allocation at
    all, to the invoices still to pay, oldest first. Money left over is kept
    as the family's credit only when the agent says so, with the reason
    (`keep_as_credit`): never by default."""
    if method not in DESK_METHODS:
        raise ValidationError(_("Choose cash, card at the desk or cheque."))
    if amount <= ZERO:
        raise ValidationError(_("The amount must be positive."))
    given = {
        pk: value for pk, value in (allocations or {}).items() if value is not None
    }
    if any(value < ZERO for value in given.values()):
        raise ValidationError(_("An allocation cannot be negative."))
    if sum(given.values(), ZERO) > amount:
        raise ValidationError(
            _("The allocations add up to more than the amount received.")
        )
    with transaction.atomic():
        Family.objects.select_for_update(no_key=True).get(pk=family.pk)
        if not given:
            owing = list(family_owing(family))
            given = desk_allocation_default(amount=amount, invoices=owing)
        allocations = {pk: value for pk, value in given.items() if value}
        invoices = {
            invoice.pk: invoice
            for invoice in Invoice.objects.select_for_update()
            .filter(pk__in=list(allocations), family=family)
            .order_by("pk")
        }
        if set(invoices) != set(allocations):
            raise ValidationError(
                _("An allocation names an invoice of another family.")
            )
        balances = Invoice.objects.with_balance().in_bulk(list(allocations))
        for pk, value in allocations.items():
            if value > balances[pk].due:
                raise ValidationError(
                    _(
                        "%(value)s is more than the %(due)s still due on invoice "
                        "%(number)s."
                    )
                    % {
                        "value": format_euros(value),
                        "due": format_euros(balances[pk].due),
                        "number": invoices[pk].number,
                    }
                )
        left = amount - sum(allocations.values(), ZERO)
        note = ""
        if left > ZERO:
            if not keep_as_credit.strip():
                raise ValidationError(
                    _(
                        "%(left)s of this payment goes to no invoice. Allocate it, "
                        'or tick "keep as credit" and give the reason.'
                    )
                    % {"left": format_euros(left)}
                )
            note = _("Kept as credit: %(reason)s") % {"reason": keep_as_credit.strip()}
        payment = Payment.objects.create(
            number=next_number(series=RECEIPT_SERIES, year=timezone.localdate().year),
            family=family,
            method=method,
            amount=amount,
            recorded_by=agent,
            reference=reference,
            note=note,
        )
        Allocation.objects.bulk_create(
            Allocation(payment=payment, invoice_id=pk, amount=value, recorded_by=agent)
            for pk, value in allocations.items()
        )
        _after_payment(payment)
    return payment


def payment_reverse(*, payment: Payment, reason: str, agent: User | None) -> Payment:
    """Correct a payment recorded by mistake: a reversal with the opposite
    amount and allocations. The payment itself is never edited or deleted."""
    if not reason.strip():
        raise ValidationError(_("Give the reason for the reversal."))
    with transaction.atomic():
        # The family first (`paiements.credit`'s lock order): no credit is
        # spent from this payment while it is reversed.
        Family.objects.select_for_update(no_key=True).get(pk=payment.family_id)
        locked = Payment.objects.select_for_update(no_key=True).get(pk=payment.pk)
        if locked.reverses_id is not None:
            raise ValidationError(_("A reversal cannot be reversed."))
        if Payment.objects.filter(reverses=locked).exists():
            raise ValidationError(_("This payment is already reversed."))
        if locked.refunds.counted().exists():
            raise ValidationError(
                _(
                    "Part of this payment was refunded: it cannot be reversed. "
                    "Record what the family owes back with the canteen service's "
                    "accountant."
                )
            )
        # What the payment covers on each invoice now (credit notes may
        # have taken some back), read once its invoices are locked.
        invoice_ids = list(
            locked.allocations.order_by("invoice_id")
            .values_list("invoice_id", flat=True)
            .distinct()
        )
        list(
            Invoice.objects.select_for_update()
            .filter(pk__in=invoice_ids)
            .order_by("pk")
        )
        net = {
            pk: value
            for pk, value in locked.allocations.order_by()
            .values("invoice_id")
            .annotate(s=Sum("amount"))
            .values_list("invoice_id", "s")
            if value
        }
        reversal = Payment.objects.create(
            number=next_number(series=RECEIPT_SERIES, year=timezone.localdate().year),
            family=locked.family,
            method=locked.method,
            amount=-locked.amount,
            recorded_by=agent,
            reverses=locked,
            note=reason.strip(),
        )
        Allocation.objects.bulk_create(
            Allocation(
                payment=reversal, invoice_id=pk, amount=-value, recorded_by=agent
            )
            for pk, value in net.items()
        )
        Invoice.objects.filter(pk__in=invoice_ids).open_flags_sync()
        Payment.objects.filter(pk=reversal.pk).left_flags_sync()
        transaction.on_commit(lambda: block_state_notify(family=locked.family))
        logger.info(
            "payment reversed",
            extra={
                "event": "payment_reversed",
                "payment": locked.number,
                "reversal": reversal.number,
                "family": locked.family.identifier,
            },
        )
    return reversal


def _after_payment(payment: Payment) -> None:
    """Inside the payment's transaction, its invoices locked."""
    Invoice.objects.filter(
        pk__in=payment.allocations.values("invoice_id")
    ).open_flags_sync()
    Payment.objects.filter(pk=payment.pk).left_flags_sync()
    logger.info(
        "payment recorded",
        extra={
            "event": "payment_recorded",
            "payment": payment.number,
            "family": payment.family.identifier,
            "method": payment.method,
            "amount": str(payment.amount),
            "reverses": payment.reverses.number if payment.reverses else "",
        },
    )
    if payment.amount > ZERO:
        transaction.on_commit(
            lambda: send_payment_receipt.enqueue(payment_id=payment.pk)
        )
    transaction.on_commit(lambda: block_state_notify(family=payment.family))


# --- The manual block and the block e-mails ---------------------------------------


def payment_override_set(
    *, family: Family, state: str, reason: str, agent: User | None
) -> PaymentOverride:
    """An agent blocks or allows a family's card payments by hand (rule 6)."""
    if not reason.strip():
        raise ValidationError(_("Give the reason."))
    with transaction.atomic():
        Family.objects.select_for_update(no_key=True).get(pk=family.pk)
        PaymentOverride.objects.filter(family=family, cleared_at__isnull=True).update(
            cleared_at=timezone.now(), cleared_by=agent
        )
        override = PaymentOverride.objects.create(
            family=family, state=state, reason=reason.strip(), created_by=agent
        )
        transaction.on_commit(lambda: block_state_notify(family=family))
    return override


def payment_override_clear(*, family: Family, agent: User | None) -> int:
    """Back to the automatic rule."""
    with transaction.atomic():
        count = PaymentOverride.objects.filter(
            family=family, cleared_at__isnull=True
        ).update(cleared_at=timezone.now(), cleared_by=agent)
        transaction.on_commit(lambda: block_state_notify(family=family))
    return count


# --- Reminders ---------------------------------------------------------------------


# Families recorded and queued together: one insert and one task per batch.
REMINDER_BATCH = 500


def payment_reminders_send(*, today: datetime.date | None = None) -> int:
    """On the reminder day, remind families that still have invoices to pay
    (once a month each); returns how many reminders were queued. The
    families are chosen in a few queries whatever their number (unpaid
    invoices through the open flag, an address on file, not reminded this
    month, credit that does not pay it all), then recorded and queued
    `REMINDER_BATCH` at a time."""
    today = today or timezone.localdate()
    if today.day != settings.PORTAIL_REMINDER_DAY:
        return 0
    month = today.replace(day=1)
    chosen = list(
        Family.objects.filter(pk__in=Invoice.objects.unpaid().values("family_id"))
        .exclude(pk__in=ReminderSent.objects.filter(month=month).values("family_id"))
        .filter(
            Exists(Guardian.objects.filter(family=OuterRef("pk")).exclude(email=""))
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    # Their credit pays what they owe: an agent allocates it, no reminder.
    covered = {
        pk
        for pk, counted in unpaid_after_credits(family_credits(chosen)).items()
        if not counted
    }
    chosen = [pk for pk in chosen if pk not in covered]
    count = 0
    for begin in range(0, len(chosen), REMINDER_BATCH):
        recorded = _reminders_record(chosen[begin : begin + REMINDER_BATCH], month)
        if recorded:
            send_payment_reminders.enqueue(family_ids=recorded)
        count += len(recorded)
    return count


def _reminders_record(family_ids: list[int], month: datetime.date) -> list[int]:
    """Record this month's reminder of the families not reminded yet, in one
    insert; returns them. Another run that records some of them meanwhile
    makes the insert fail on `reminder_once_a_month`: read again, and leave
    them to it."""
    for _attempt in range(3):
        try:
            with transaction.atomic():
                taken = set(
                    ReminderSent.objects.filter(
                        month=month, family_id__in=family_ids
                    ).values_list("family_id", flat=True)
                )
                fresh = [pk for pk in family_ids if pk not in taken]
                ReminderSent.objects.bulk_create(
                    ReminderSent(family_id=pk, month=month) for pk in fresh
                )
            return fresh
        except IntegrityError:
            continue
    return []
