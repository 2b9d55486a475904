import datetime
from decimal import Decimal

import factory

from factures.models import BracketAssignment, Invoice, TariffBracket
from familles.models import Child, Family, Guardian, User

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

    family = factory.SubFactory(FamilyFactory)
    number = factory.Sequence(lambda n: f"F2026-{n + 900000:06d}")
    period = factory.Sequence(lambda n: datetime.date(2020 + n // 12, n % 12 + 1, 1))
    total = Decimal("30.00")
    family_identifier = factory.SelfAttribute("family.identifier")
    family_name = factory.SelfAttribute("family.name")
    billing_address = "12 rue Schoelcher\n97170 Petit-Bourg"
    paperless = False
