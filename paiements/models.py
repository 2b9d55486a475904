"""Payments: money received (card online, desk), how it is allocated to
invoices, the Checkout Sessions and webhook events of the card flow, and the
agents' manual payment block.

A payment is never edited or deleted: a mistake is corrected by a reversal,
a payment of its own with the opposite amount.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from factures.money import ZERO
from factures.sql import PerPayment


class PaymentQuerySet(models.QuerySet["Payment"]):
    def with_left(self) -> PaymentQuerySet:
        """Annotate `left`: what each payment holds as the family's credit
        (`Payment.unallocated`, in SQL), for the lists of payments. The sums
        are written around the payment's id (`PerPayment`): a Subquery cost
        a family's pages twice as much to compile as to run."""
        money = models.DecimalField(max_digits=10, decimal_places=2)
        return self.annotate(
            left=models.F("amount")
            - PerPayment(Allocation, "COALESCE(SUM(r.amount), 0)", output_field=money)
            - PerPayment(
                Refund,
                "COALESCE(SUM(r.amount), 0)",
                where=Refund.counted_sql("r"),
                output_field=money,
            )
        )

    def holding_credit(self) -> PaymentQuerySet:
        """Payments with money that no invoice needs and that was not
        given back: credit to allocate or to refund."""
        return (
            self.filter(has_left=True)
            .with_left()
            .filter(  # type: ignore[misc]  # an annotation
                amount__gt=0, left__gt=0, reversed_by__isnull=True
            )
        )

    def _left_truth(self) -> models.QuerySet:
        """The payments whose `left` is not zero (derived in SQL)."""
        return (
            Payment.objects.filter(pk__in=self.values("pk"))
            .with_left()
            .exclude(left=0)  # type: ignore[misc]  # an annotation
            .values("pk")
        )

    def left_flags_sync(self) -> int:
        """Set `has_left` of these payments from the derived truth; returns
        how many changed. Every service that records a payment, an
        allocation or a refund, or changes whether a refund counts, calls
        it under its locks on the payments it touched."""
        pks = self._left_truth()
        held = self.filter(has_left=False, pk__in=pks).update(has_left=True)
        return held + self.filter(has_left=True).exclude(pk__in=pks).update(
            has_left=False
        )

    def left_flags_wrong(self) -> PaymentQuerySet:
        """Payments whose stored `has_left` differs from the derived truth:
        none, ever (a test checks it after every test that touched the
        database)."""
        pks = Payment.objects.all()._left_truth()
        return self.filter(
            Q(has_left=True) & ~Q(pk__in=pks) | Q(has_left=False, pk__in=pks)
        )


class PaymentMethod(models.TextChoices):
    CARD_ONLINE = "card_online", _("card, online")
    PAYFIP = "payfip", _("online, PayFiP")
    CARD_DESK = "card_desk", _("card, at the desk")
    CASH = "cash", _("cash")
    CHEQUE = "cheque", _("cheque")


class Payment(models.Model):
    Method = PaymentMethod

    # Paid through an online provider's page (the checkout says which).
    ONLINE_METHODS = (Method.CARD_ONLINE, Method.PAYFIP)

    number = models.CharField(
        _("receipt number"), max_length=20, unique=True, editable=False
    )
    family = models.ForeignKey(
        "familles.Family",
        verbose_name=_("family"),
        on_delete=models.PROTECT,
        related_name="payments",
    )
    method = models.CharField(_("method"), max_length=20, choices=Method.choices)
    amount = models.DecimalField(_("amount"), max_digits=10, decimal_places=2)
    received_at = models.DateTimeField(_("received on"), default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reference = models.CharField(
        _("reference"), max_length=100, blank=True, help_text=_("Cheque number…")
    )
    checkout = models.OneToOneField(
        "CheckoutSession",
        verbose_name=_("card payment session"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payment",
    )
    reverses = models.OneToOneField(
        "self",
        verbose_name=_("reverses"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversed_by",
    )
    note = models.TextField(_("note"), blank=True)
    # Set when the money received differs from what was asked (a card
    # payment of another amount or currency): recorded all the same, and
    # listed for the agents until one of them has checked it.
    anomaly = models.TextField(_("anomaly"), blank=True)
    anomaly_checked_at = models.DateTimeField(
        _("anomaly checked on"), null=True, blank=True
    )
    anomaly_checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("anomaly checked by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # Whether `left` (received less allocated less refunded) is not zero:
    # the family's credit is the sum of these payments' `left` alone, read
    # through the partial index `payment_left`, whatever the history's
    # length. Kept by `left_flags_sync()`; derived truth in `with_left()`.
    has_left = models.BooleanField(
        _("money left on it"), default=False, db_default=False, editable=False
    )

    objects = PaymentQuerySet.as_manager()
    history = HistoricalRecords(excluded_fields=["has_left"])
    # Set on payments read by the admin's list (what is not allocated).
    left: Decimal

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-received_at", "-pk"]
        indexes = [
            models.Index(
                fields=["family"], name="payment_left", condition=Q(has_left=True)
            )
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="payment_not_zero"),
            # Only a reversal carries a negative amount.
            models.CheckConstraint(
                condition=Q(amount__gt=0) | Q(reverses__isnull=False),
                name="payment_negative_only_reversal",
            ),
            # The statement and the payment list name the method from its
            # choices: a value outside them would break both pages.
            models.CheckConstraint(
                condition=Q(method__in=PaymentMethod.values),
                name="payment_method_known",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def allocated(self) -> Decimal:
        return self.allocations.aggregate(s=Sum("amount"))["s"] or ZERO

    @property
    def refunded(self) -> Decimal:
        return self.refunds.counted().aggregate(s=Sum("amount"))["s"] or ZERO

    @property
    def unallocated(self) -> Decimal:
        """Money received that no invoice needs (any more) and that was not
        given back: the family's credit held on this payment, to allocate
        or to refund (`paiements.credit`)."""
        return self.amount - self.allocated - self.refunded


class Allocation(models.Model):
    """A *ventilation*: part of a payment applied to one invoice.

    Append-only: money is moved by new rows, never by editing one. A
    negative row takes money back off an invoice (a credit note left the
    invoice overpaid, or a reversal); the sum of an invoice's rows never
    exceeds what it owes after its credit notes, and the sum of a
    payment's rows never exceeds the payment (`paiements.credit`)."""

    payment = models.ForeignKey(
        Payment,
        verbose_name=_("payment"),
        on_delete=models.PROTECT,
        related_name="allocations",
    )
    invoice = models.ForeignKey(
        "factures.Invoice",
        verbose_name=_("invoice"),
        on_delete=models.PROTECT,
        related_name="allocations",
    )
    amount = models.DecimalField(_("amount"), max_digits=10, decimal_places=2)
    created_at = models.DateTimeField(_("recorded on"), default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("allocation")
        verbose_name_plural = _("allocations")
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="allocation_not_zero"),
        ]

    def __str__(self) -> str:
        return f"{self.payment} → {self.invoice}: {self.amount}"


class RefundQuerySet(models.QuerySet["Refund"]):
    def counted(self) -> RefundQuerySet:
        """Refunds that took the money away: all but those the payment
        provider reports as failed or cancelled (that money is credit
        again)."""
        return self.exclude(status__in=Refund.NOT_PAID)


class RefundMethod(models.TextChoices):
    CASH = "cash", _("cash")
    CHEQUE = "cheque", _("cheque")
    PROVIDER = "provider", _("back to the card")
    TREASURY = "treasury", _("by the Treasury (PayFiP)")


class Refund(models.Model):
    """Money given back to a family out of its credit: at the desk (cash or
    cheque) or, for a card payment, through the payment provider.

    Append-only: amount, payment, who, when and why never change. Only a
    provider refund's `status` follows what the provider reports; a failed
    one gives the money back to the credit."""

    Method = RefundMethod

    class Status(models.TextChoices):
        PENDING = "pending", _("in progress")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    NOT_PAID = (Status.FAILED,)

    number = models.CharField(
        _("refund number"), max_length=20, unique=True, editable=False
    )
    family = models.ForeignKey(
        "familles.Family",
        verbose_name=_("family"),
        on_delete=models.PROTECT,
        related_name="refunds",
    )
    payment = models.ForeignKey(
        Payment,
        verbose_name=_("payment refunded"),
        on_delete=models.PROTECT,
        related_name="refunds",
    )
    method = models.CharField(_("method"), max_length=10, choices=Method.choices)
    amount = models.DecimalField(_("amount"), max_digits=10, decimal_places=2)
    reason = models.TextField(_("reason"))
    reference = models.CharField(
        _("reference"), max_length=100, blank=True, help_text=_("Cheque number…")
    )
    created_at = models.DateTimeField(_("refunded on"), default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DONE
    )
    provider_id = models.CharField(
        _("provider reference"), max_length=255, unique=True, null=True, blank=True
    )
    failure = models.CharField(
        _("provider's answer"), max_length=255, blank=True, editable=False
    )
    idempotency_key = models.CharField(max_length=64, unique=True)

    objects = RefundQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="refund_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(method__in=RefundMethod.values),
                name="refund_method_known",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @classmethod
    def counted_sql(cls, alias: str) -> str:
        """`Refund.objects.counted()` as an SQL condition on the refund
        table's `alias`, for the sums written around a row (the statuses
        are the model's constants, never input)."""
        not_paid = ", ".join(f"'{status}'" for status in cls.NOT_PAID)
        return f"{alias}.status NOT IN ({not_paid})" if not_paid else "TRUE"


class CheckoutSession(models.Model):
    """Our record of an online payment asked of the provider (a Stripe
    Checkout Session, a PayFiP operation): what the family asked to pay. The
    provider holds the truth about whether it was paid."""

    class Provider(models.TextChoices):
        STRIPE = "stripe", "Stripe"
        PAYFIP = "payfip", "PayFiP"

    class Status(models.TextChoices):
        OPEN = "open", _("in progress")
        COMPLETE = "complete", _("paid")
        EXPIRED = "expired", _("expired")

    family = models.ForeignKey(
        "familles.Family",
        verbose_name=_("family"),
        on_delete=models.PROTECT,
        related_name="checkout_sessions",
    )
    idempotency_key = models.CharField(max_length=64, unique=True)
    provider = models.CharField(
        _("provider"), max_length=10, choices=Provider.choices, default=Provider.STRIPE
    )
    # The provider's id: Stripe's session id, PayFiP's idop.
    remote_id = models.CharField(
        _("provider's id"), max_length=255, unique=True, null=True
    )
    url = models.URLField(_("payment page address"), max_length=1000, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=10, decimal_places=2)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    created_at = models.DateTimeField(_("created on"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires on"))
    closed_at = models.DateTimeField(_("closed on"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("card payment session")
        verbose_name_plural = _("card payment sessions")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.remote_id or f"#{self.pk}"


class CheckoutItem(models.Model):
    checkout = models.ForeignKey(
        CheckoutSession, on_delete=models.PROTECT, related_name="items"
    )
    invoice = models.ForeignKey(
        "factures.Invoice", on_delete=models.PROTECT, related_name="checkout_items"
    )
    amount = models.DecimalField(_("amount"), max_digits=10, decimal_places=2)

    class Meta:
        verbose_name = _("card payment session line")
        verbose_name_plural = _("card payment session lines")
        constraints = [
            models.UniqueConstraint(
                fields=["checkout", "invoice"], name="checkoutitem_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.checkout} – {self.invoice}"


class WebhookEvent(models.Model):
    """A Stripe event received once: a second delivery finds it here."""

    stripe_id = models.CharField(_("Stripe id"), max_length=255, unique=True)
    type = models.CharField(_("event type"), max_length=100)
    received_at = models.DateTimeField(_("received on"), default=timezone.now)
    outcome = models.CharField(_("outcome"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("Stripe event")
        verbose_name_plural = _("Stripe events")
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_id}"


class PaymentOverride(models.Model):
    """An agent's hand-set state for a family's card payments (block or
    allow), with the reason; it wins over the automatic rule until cleared."""

    class State(models.TextChoices):
        BLOCKED = "blocked", _("blocked")
        ALLOWED = "allowed", _("allowed")

    family = models.ForeignKey(
        "familles.Family",
        verbose_name=_("family"),
        on_delete=models.PROTECT,
        related_name="payment_overrides",
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices)
    reason = models.TextField(_("reason"))
    created_at = models.DateTimeField(_("set on"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("set by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    cleared_at = models.DateTimeField(_("cleared on"), null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("cleared by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("manual payment block")
        verbose_name_plural = _("manual payment blocks")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["family"],
                condition=Q(cleared_at__isnull=True),
                name="paymentoverride_one_active",
            )
        ]

    def __str__(self) -> str:
        return f"{self.family} – {self.get_state_display()}"


class BlockNotice(models.Model):
    """The last block state a family was told about by e-mail."""

    family = models.OneToOneField(
        "familles.Family", on_delete=models.PROTECT, related_name="block_notice"
    )
    blocked = models.BooleanField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("block notice")
        verbose_name_plural = _("block notices")

    def __str__(self) -> str:
        return f"{self.family}: {self.blocked}"


class ReminderSent(models.Model):
    """A payment reminder sent to a family for a month (once)."""

    family = models.ForeignKey(
        "familles.Family", on_delete=models.PROTECT, related_name="+"
    )
    month = models.DateField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("payment reminder")
        verbose_name_plural = _("payment reminders")
        constraints = [
            models.UniqueConstraint(
                fields=["family", "month"], name="reminder_once_a_month"
            )
        ]

    def __str__(self) -> str:
        return f"{self.family} {self.month:%Y-%m}"
