import datetime
from decimal import Decimal
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from factures.money import format_euros, round_money
from familles.access import acting_user
from familles.models import Family
from familles.search import FamilySearchMixin
from paiements.models import (
    Allocation,
    CheckoutSession,
    Payment,
    PaymentOverride,
    Refund,
    WebhookEvent,
)
from paiements.services import (
    payment_override_clear,
    payment_override_set,
    payments_reconcile,
)
from paiements.staff_views import (
    AccountView,
    BlockedView,
    DeskView,
    JournalView,
    ReceiptView,
    RefundReceiptView,
    RefundView,
    ReverseView,
    StatementPdfView,
)
from portail.admin_tools import (
    HistoryAdmin,
    NoAddMixin,
    NoChangeMixin,
    NoDeleteMixin,
    ReadOnlyMixin,
    SafeDateHierarchyMixin,
    SafeInitialMixin,
)


class AllocationInline(NoAddMixin, NoChangeMixin, admin.TabularInline):
    model = Allocation
    fields = ["invoice", "amount", "created_at", "recorded_by", "note"]
    readonly_fields = fields  # type: ignore[assignment]  # the same names
    extra = 0
    can_delete = False


class UnallocatedFilter(admin.SimpleListFilter):
    title = gettext_lazy("overpayment")
    parameter_name = "excedent"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("oui", gettext_lazy("with money not allocated (refund or credit)"))]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[Payment]
    ) -> QuerySet[Payment]:
        if self.value() == "oui":
            return queryset.holding_credit()  # type: ignore[attr-defined, no-any-return]
        return queryset


class AnomalyFilter(admin.SimpleListFilter):
    title = gettext_lazy("anomaly")
    parameter_name = "anomalie"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("a-verifier", gettext_lazy("to check")),
            ("verifiee", gettext_lazy("checked")),
        ]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[Payment]
    ) -> QuerySet[Payment]:
        anomalies = queryset.exclude(anomaly="")
        if self.value() == "a-verifier":
            return anomalies.filter(anomaly_checked_at__isnull=True)
        if self.value() == "verifiee":
            return anomalies.filter(anomaly_checked_at__isnull=False)
        return queryset


@admin.register(Payment)
class PaymentAdmin(
    FamilySearchMixin, SafeDateHierarchyMixin, ReadOnlyMixin, HistoryAdmin
):
    # Recorded through the desk page, which allocates the money; never
    # edited nor deleted: a reversal corrects a mistake.
    list_display = [
        "number",
        "received_at",
        "family",
        "method",
        "amount",
        "left_display",
        "recorded_by",
    ]
    list_filter = [
        AnomalyFilter,
        UnallocatedFilter,
        "method",
        ("received_at", admin.DateFieldListFilter),
    ]
    list_select_related = ["family", "recorded_by"]
    search_fields = ["number", "reference"]
    date_hierarchy = "received_at"
    inlines = [AllocationInline]
    actions = ["anomaly_checked"]
    readonly_fields = [
        "number",
        "family",
        "method",
        "amount",
        "received_at",
        "recorded_by",
        "reference",
        "checkout",
        "reverses",
        "note",
        "anomaly",
        "anomaly_checked_at",
        "anomaly_checked_by",
        "left_display",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Payment]:
        return super().get_queryset(request).with_left()  # type: ignore[attr-defined, no-any-return]

    @admin.display(description=gettext_lazy("credit held"), ordering="left")
    def left_display(self, obj: Payment) -> str:
        # SQLite computes the difference in floating point (-1.4e-14 for
        # nothing left): rounded to the cent, as every amount shown.
        return format_euros(round_money(Decimal(str(obj.left))))

    def has_record_permission(self, request: HttpRequest) -> bool:
        """Agents who take money at the desk check anomalies (adding a
        payment is otherwise closed in the admin: the desk page does it)."""
        return request.user.has_perm("paiements.add_payment")

    @admin.action(
        description=gettext_lazy("Mark the anomaly as checked"), permissions=["record"]
    )
    def anomaly_checked(
        self, request: HttpRequest, queryset: QuerySet[Payment]
    ) -> None:
        count = (
            queryset.exclude(anomaly="")
            .filter(anomaly_checked_at__isnull=True)
            .update(
                anomaly_checked_at=timezone.now(),
                anomaly_checked_by=acting_user(request),
            )
        )
        self.message_user(
            request,
            _("%(count)s anomaly(ies) marked as checked.") % {"count": count},
            messages.SUCCESS,
        )

    def get_urls(self) -> list[Any]:
        site = self.admin_site
        return [
            JournalView.route(site, "journal/", "paiements_payment_journal"),
            BlockedView.route(site, "bloquees/", "paiements_payment_blocked"),
            DeskView.route(site, "guichet/", "paiements_payment_desk"),
            AccountView.route(
                site, "compte/<id:family_pk>/", "paiements_payment_account"
            ),
            StatementPdfView.route(
                site,
                "compte/<id:family_pk>/releve.pdf",
                "paiements_payment_statement_pdf",
            ),
            RefundView.route(site, "<id:pk>/rembourser/", "paiements_payment_refund"),
            ReceiptView.route(site, "<id:pk>/recu/", "paiements_payment_receipt"),
            ReverseView.route(site, "<id:pk>/annuler/", "paiements_payment_reverse"),
            *super().get_urls(),
        ]


@admin.register(PaymentOverride)
class PaymentOverrideAdmin(
    FamilySearchMixin,
    SafeInitialMixin,
    NoChangeMixin,
    NoDeleteMixin,
    admin.ModelAdmin[PaymentOverride],
):
    list_display = [
        "family",
        "state",
        "reason",
        "created_at",
        "created_by",
        "cleared_at",
    ]
    list_filter = ["state", ("cleared_at", admin.EmptyFieldListFilter)]
    list_select_related = ["family", "created_by"]
    search_fields = ["reason"]
    autocomplete_fields = ["family"]
    fields = ["family", "state", "reason"]
    actions = ["clear"]

    def save_model(
        self, request: HttpRequest, obj: PaymentOverride, form: Any, change: bool
    ) -> None:
        created = payment_override_set(
            family=obj.family,
            state=obj.state,
            reason=obj.reason,
            agent=acting_user(request),
        )
        obj.pk = created.pk

    @admin.action(
        description=gettext_lazy("Clear: back to the automatic rule"),
        permissions=["add"],
    )
    def clear(self, request: HttpRequest, queryset: QuerySet[PaymentOverride]) -> None:
        for override in queryset.filter(cleared_at__isnull=True).select_related(
            "family"
        ):
            payment_override_clear(family=override.family, agent=acting_user(request))
        self.message_user(request, _("Manual states cleared."), messages.SUCCESS)


@admin.register(CheckoutSession)
class CheckoutSessionAdmin(ReadOnlyMixin, admin.ModelAdmin[CheckoutSession]):
    list_display = [
        "remote_id",
        "provider",
        "family",
        "amount",
        "status",
        "created_at",
        "closed_at",
    ]
    list_filter = ["status", "provider"]
    list_select_related = ["family"]
    search_fields = ["remote_id", "family__identifier"]
    actions = ["reconcile"]

    @admin.action(
        description=gettext_lazy("Ask the provider now (reconcile)"),
        permissions=["view"],
    )
    def reconcile(
        self, request: HttpRequest, queryset: QuerySet[CheckoutSession]
    ) -> None:
        families = Family.objects.filter(pk__in=queryset.values("family_id"))
        recorded = 0
        for family in families:
            result = payments_reconcile(family=family, older_than=datetime.timedelta(0))
            recorded += len(result.recorded)
        self.message_user(
            request,
            _("%(count)s payment(s) recorded.") % {"count": recorded},
            messages.INFO,
        )


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyMixin, admin.ModelAdmin[WebhookEvent]):
    list_display = ["stripe_id", "type", "received_at", "outcome"]
    list_filter = ["type"]
    search_fields = ["stripe_id", "outcome"]


@admin.register(Refund)
class RefundAdmin(FamilySearchMixin, ReadOnlyMixin, HistoryAdmin):
    """Refunds are recorded from a payment's credit (the family's account
    page); never edited nor deleted."""

    # The payment refunded is on the refund's page: the list keeps to what
    # fits at 1280 px.
    list_display = [
        "number",
        "created_at",
        "family",
        "method",
        "amount",
        "status",
        "recorded_by",
    ]
    list_filter = ["status", "method"]
    list_select_related = ["family", "payment", "recorded_by"]
    search_fields = ["number", "payment__number"]
    readonly_fields = [
        "number",
        "family",
        "payment",
        "method",
        "amount",
        "reason",
        "reference",
        "created_at",
        "recorded_by",
        "status",
        "provider_id",
        "failure",
    ]
    fields = readonly_fields

    def get_urls(self) -> list[Any]:
        return [
            RefundReceiptView.route(
                self.admin_site, "<id:pk>/recu/", "paiements_refund_receipt"
            ),
            *super().get_urls(),
        ]
