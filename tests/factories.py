import datetime
from decimal import Decimal

import factory

from factures.models import (
    Activity,
    Attendance,
    BracketAssignment,
    CreditNote,
    Invoice,
    InvoiceDispute,
    InvoiceLine,
    TariffBracket,
)
from familles.models import Child, Family, Guardian, User
from paiements.models import Allocation, CheckoutSession, Payment, PaymentOverride
from signalements.models import Report

PARENT_PASSWORD = "une phrase de passe assez longue"


class TariffBracketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TariffBracket
        django_get_or_create = ["code"]

    code = "B"
    label = "Tranche B"
    qf_min = Decimal("450.01")
    qf_max = Decimal("800.00")


class FamilyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Family
        skip_postgeneration_save = True

    identifier = factory.Sequence(lambda n: f"PB-{n + 100:06d}")
    name = factory.Sequence(lambda n: f"Famille{n}")
    address_line1 = "12 rue Schoelcher"
    postal_code = "97170"
    city = "Petit-Bourg"

    @factory.post_generation
    def bracket(obj, create, extracted, **kwargs):  # noqa: ANN001, ANN003, ANN202, N805
        """The family's bracket since 1 September 2026 (pass bracket=None to
        leave it without one)."""
        if create and extracted is not False:
            BracketAssignment.objects.create(
                family=obj,
                bracket=extracted or TariffBracketFactory(),
                valid_from=datetime.date(2026, 9, 1),
            )


class GuardianFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Guardian

    family = factory.SubFactory(FamilyFactory)
    first_name = "Marie"
    last_name = factory.SelfAttribute("family.name")
    email = factory.Sequence(lambda n: f"parent{n}@example.org")
    phone_mobile = "0690 12 34 56"


class ChildFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Child

    family = factory.SubFactory(FamilyFactory)
    first_name = factory.Sequence(lambda n: f"Enfant{n}")
    last_name = factory.SelfAttribute("family.name")
    birth_date = datetime.date(2017, 5, 4)
    school = "École primaire Bourg"
    school_class = "CE1"


class ParentFactory(factory.django.DjangoModelFactory):
    """An activated family login (it has a personal password)."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    family = factory.SubFactory(FamilyFactory)
    username = factory.SelfAttribute("family.identifier")
    password = factory.PostGenerationMethodCall("set_password", PARENT_PASSWORD)

    @factory.post_generation
    def saved(obj: User, create: bool, extracted: object, **kwargs: object) -> None:  # noqa: N805
        if create:
            obj.save()


class StaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"agent{n}")
    is_staff = True
    password = factory.PostGenerationMethodCall(
        "set_password", "mot de passe agent 2026"
    )

    @factory.post_generation
    def saved(obj: User, create: bool, extracted: object, **kwargs: object) -> None:  # noqa: N805
        if create:
            obj.save()


class InvoiceFactory(factory.django.DjangoModelFactory):
    """An issued invoice, made directly (the invoicing run has its own tests)."""

    class Meta:
        model = Invoice
        skip_postgeneration_save = True

    family = factory.SubFactory(FamilyFactory)
    number = factory.Sequence(lambda n: f"F2026-{n + 900000:06d}")
    period = factory.Sequence(lambda n: datetime.date(2020 + n // 12, n % 12 + 1, 1))
    total = Decimal("30.00")
    family_identifier = factory.SelfAttribute("family.identifier")
    family_name = factory.SelfAttribute("family.name")
    billing_address = "12 rue Schoelcher\n97170 Petit-Bourg"
    paperless = False

    @factory.post_generation
    def open_flag(obj, create, extracted, **kwargs):  # noqa: ANN001, ANN003, ANN202, N805
        """As the money services do, under their locks."""
        if create:
            Invoice.objects.filter(pk=obj.pk).open_flags_sync()


# --- Money and reports, made directly (their services have their own tests) -----


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity
        django_get_or_create = ("code",)

    code = "cantine"
    label = "Restauration scolaire"


class AttendanceFactory(factory.django.DjangoModelFactory):
    """One meal; its day moves on with each one made."""

    class Meta:
        model = Attendance

    child = factory.SubFactory(ChildFactory)
    activity = factory.SubFactory(ActivityFactory)
    date = factory.Sequence(
        lambda n: datetime.date(2026, 10, 1) + datetime.timedelta(n)
    )


class InvoiceLineFactory(factory.django.DjangoModelFactory):
    """Three meals at 1,80 € of a child of the invoice's family."""

    class Meta:
        model = InvoiceLine

    invoice = factory.SubFactory(InvoiceFactory)
    child = factory.SubFactory(
        ChildFactory, family=factory.SelfAttribute("..invoice.family")
    )
    activity = factory.SubFactory(ActivityFactory)
    child_name = factory.SelfAttribute("child.first_name")
    label = "Restauration scolaire"
    bracket_label = "Tranche B"
    quantity = 3
    unit_price = Decimal("1.80")
    amount = factory.LazyAttribute(lambda line: line.unit_price * line.quantity)


class CreditNoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CreditNote
        skip_postgeneration_save = True

    invoice = factory.SubFactory(InvoiceFactory)
    number = factory.Sequence(lambda n: f"AV2026-{n + 900000:06d}")
    reason = "Repas non pris"
    total = Decimal("3.60")
    is_cancellation = False

    @factory.post_generation
    def open_flag(obj, create, extracted, **kwargs):  # noqa: ANN001, ANN003, ANN202, N805
        """As the money services do, under their locks."""
        if create:
            Invoice.objects.filter(pk=obj.invoice_id).open_flags_sync()


class InvoiceDisputeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InvoiceDispute
        skip_postgeneration_save = True

    invoice = factory.SubFactory(InvoiceFactory)
    reason = "Montant erroné"

    @factory.post_generation
    def open_flag(obj, create, extracted, **kwargs):  # noqa: ANN001, ANN003, ANN202, N805
        """As the money services do, under their locks."""
        if create:
            Invoice.objects.filter(pk=obj.invoice_id).open_flags_sync()


class PaymentFactory(factory.django.DjangoModelFactory):
    """A cash payment; `PaymentFactory(allocations={invoice: "10.00"})`
    allocates it (its amount, unless given, is what it allocates)."""

    class Meta:
        model = Payment

    number = factory.Sequence(lambda n: f"R2026-{n + 900000:06d}")
    family = factory.SubFactory(FamilyFactory)
    method = Payment.Method.CASH
    amount = Decimal("30.00")

    @classmethod
    def _create(cls, model_class: type, *args: object, **kwargs: object) -> Payment:
        allocations = kwargs.pop("allocations", None) or {}
        if allocations and "amount" not in kwargs:
            kwargs["amount"] = sum(
                (Decimal(value) for value in allocations.values()), Decimal("0")
            )
        payment = super()._create(model_class, *args, **kwargs)
        for invoice, value in allocations.items():
            Allocation.objects.create(
                payment=payment, invoice=invoice, amount=Decimal(value)
            )
        Invoice.objects.filter(
            pk__in=[invoice.pk for invoice in allocations]
        ).open_flags_sync()
        Payment.objects.filter(pk=payment.pk).left_flags_sync()
        return payment


class CheckoutSessionFactory(factory.django.DjangoModelFactory):
    """An open card payment session, already sent to Stripe."""

    class Meta:
        model = CheckoutSession

    family = factory.SubFactory(FamilyFactory)
    idempotency_key = factory.Sequence(lambda n: f"{n:032d}")
    remote_id = factory.Sequence(lambda n: f"cs_test_{n:024d}")
    amount = Decimal("30.00")
    expires_at = datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)


class PaymentOverrideFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PaymentOverride

    family = factory.SubFactory(FamilyFactory)
    state = PaymentOverride.State.BLOCKED
    reason = "Chèque impayé"


class ReportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Report

    reference = factory.Sequence(lambda n: f"S2026-{n + 900000:06d}")
    family = factory.SubFactory(FamilyFactory)
    kind = Report.Kind.OTHER
    message = "Bonjour"
    request_key = factory.Sequence(lambda n: f"report-{n:026d}")
