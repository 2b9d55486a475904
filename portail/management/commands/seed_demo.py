"""Demo data: about 30 families of Petit-Bourg, tariff brackets, one
administrator and one canteen agent. Running it again changes nothing."""

import datetime
import random
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from factures.models import (
    Activity,
    Attendance,
    BracketAssignment,
    Invoice,
    Price,
    TariffBracket,
)
from factures.periods import next_month, previous_month
from factures.services import (
    CreditLine,
    credit_note_issue,
    invoice_cancel,
    invoice_issue_month,
)
from familles.models import Child, Family, Guardian, User
from familles.roles import AGENT_GROUP
from familles.services import (
    activation_code_pending,
    family_login_create,
    family_login_emails_sync,
)
from paiements.models import Payment
from paiements.rules import next_online_window, payment_rules
from paiements.services import payment_record_desk
from signalements.models import Report
from signalements.services import report_submit

FAMILY_COUNT = 30
DEMO_FAMILY_PASSWORD = "cantine-demo-2026"  # noqa: S105 - printed demo login
DEMO_STAFF_PASSWORDS = {"admin": "admin-demo-2026", "agent": "agent-demo-2026"}

# code, label, quotient familial range, canteen meal price, after-school price
BRACKETS = [
    ("A", "Tranche A", Decimal("0"), Decimal("450.00"), "1.00", "0.50"),
    ("B", "Tranche B", Decimal("450.01"), Decimal("800.00"), "1.80", "0.80"),
    ("C", "Tranche C", Decimal("800.01"), Decimal("1200.00"), "2.50", "1.10"),
    ("D", "Tranche D", Decimal("1200.01"), None, "3.20", "1.40"),
]
ACTIVITIES = [("cantine", "Restauration scolaire"), ("garderie", "Garderie du soir")]
# Days of the week with school meals (Wednesday has no school).
SCHOOL_WEEKDAYS = {0, 1, 3, 4}
SUMMER_MONTHS = {7, 8}
LAST_NAMES = [
    "Jacoby",
    "Nelson",
    "Bélénus",
    "Ramassamy",
    "Dorville",
    "Cabrion",
    "Lollia",
    "Théophile",
    "Mirre",
    "Numa",
    "Pierre-Louis",
    "Zami",
    "Coco",
    "Bajazet",
    "Sainte-Rose",
    "Calixte",
    "Désir",
    "Anselme",
    "Moëllon",
    "Halley",
    "Valentin",
    "Ferdinand",
    "Boisrond",
    "Jean-Baptiste",
    "Matou",
    "Sylvestre",
    "Armougom",
    "Clairville",
    "Loyson",
    "Ribal",
]
FIRST_NAMES_ADULT = [
    "Marie",
    "Josiane",
    "Fabienne",
    "Nadège",
    "Sandrine",
    "Murielle",
    "Cindy",
    "Jean",
    "Frantz",
    "Patrick",
    "Ludovic",
    "Harry",
    "Thierry",
    "Steeve",
]
FIRST_NAMES_CHILD = [
    "Kenzo",
    "Inaya",
    "Noam",
    "Maëlys",
    "Timéo",
    "Kaïs",
    "Léana",
    "Ethan",
    "Jade",
    "Lyam",
    "Naïa",
    "Enzo",
    "Shana",
    "Mathis",
    "Kelya",
    "Nolan",
]
SCHOOLS = [
    ("École primaire Bourg", ["CP", "CE1", "CE2", "CM1", "CM2"]),
    ("École maternelle Arnouville", ["PS", "MS", "GS"]),
    ("École primaire Prise d'Eau", ["CP", "CE1", "CE2", "CM1", "CM2"]),
    ("École primaire Montebello", ["CP", "CE1", "CE2", "CM1", "CM2"]),
]
STREETS = [
    "rue Schoelcher",
    "chemin de Barbotteau",
    "route de Prise d'Eau",
    "lotissement Cocoyer",
    "rue de la Mairie",
    "résidence Les Palmiers",
    "chemin de Vernou",
    "route de Montebello",
]


HISTORY_MONTHS = 12


def demo_months(today: datetime.date) -> list[datetime.date]:
    """The demo's history: the twelve finished months before `today`'s,
    oldest first. The demo is the same story whatever day it is loaded."""
    months = [previous_month(today)]
    while len(months) < HISTORY_MONTHS:
        months.insert(0, previous_month(months[0]))
    return months


def invoiced_periods() -> list[datetime.date]:
    """The months that have invoices, oldest first (summer has none)."""
    return sorted(set(Invoice.objects.values_list("period", flat=True)))


class Command(BaseCommand):
    help = "Load the demo data (idempotent) and print the demo logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--allow-without-debug",
            action="store_true",
            help="Load even with DEBUG off (never on a production database).",
        )
        parser.add_argument(
            "--logins-only",
            action="store_true",
            help="Load nothing: print the demo logins and today's payment window "
            "(make run prints them last, once the servers are up).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["allow_without_debug"]:
            raise CommandError(
                "seed_demo loads fake families and known passwords: it runs only "
                "with DJANGO_DEBUG=1 (or --allow-without-debug on a scratch database)."
            )
        # One day for the whole load, should it run across midnight.
        self.today = timezone.localdate()
        self.months = demo_months(self.today)
        if options["logins_only"]:
            self.print_logins()
            return
        if Family.objects.exists() and self.stale():
            # Invoicing the months since would tell another story (meals
            # stop on the day it was loaded): say how to load today's.
            self.stderr.write(
                self.style.WARNING(
                    "The demo data were loaded in an earlier month and tell that "
                    "month's story. To load today's demo: make demo-reset"
                )
            )
        else:
            self.seed()
        if options["verbosity"] > 0:
            self.print_logins()

    def seed(self) -> None:
        with transaction.atomic():
            brackets = self.seed_brackets()
            families = self.seed_families(brackets)
            self.seed_staff()
            self.seed_family_logins(families)
            self.seed_invoices()
            self.seed_reports()
            self.seed_duplicate()

    def seed_brackets(self) -> list[TariffBracket]:
        activities = [
            Activity.objects.get_or_create(code=code, defaults={"label": label})[0]
            for code, label in ACTIVITIES
        ]
        brackets = []
        for code, label, qf_min, qf_max, *prices in BRACKETS:
            bracket, created = TariffBracket.objects.get_or_create(
                code=code, defaults={"label": label, "qf_min": qf_min, "qf_max": qf_max}
            )
            brackets.append(bracket)
            if created:
                for activity, price in zip(activities, prices, strict=True):
                    Price.objects.create(
                        bracket=bracket,
                        activity=activity,
                        unit_price=Decimal(price),
                        valid_from=self.months[0],
                    )
        return brackets

    def seed_families(self, brackets: list[TariffBracket]) -> list[Family]:
        families = []
        for number in range(1, FAMILY_COUNT + 1):
            rng = random.Random(number)  # noqa: S311 - demo data, not secrets
            identifier = f"{settings.FAMILY_IDENTIFIER_PREFIX}-{number:06d}"
            last_name = LAST_NAMES[(number - 1) % len(LAST_NAMES)]
            qf = Decimal(rng.randrange(200, 1600))
            bracket = next(b for b in brackets if b.qf_max is None or qf <= b.qf_max)
            family, created = Family.objects.get_or_create(
                identifier=identifier,
                defaults={
                    "name": last_name,
                    "address_line1": f"{rng.randrange(1, 90)} {rng.choice(STREETS)}",
                    "postal_code": "97170",
                    "city": "Petit-Bourg",
                    "quotient_familial": qf,
                    "paperless": number % 3 == 0,
                },
            )
            families.append(family)
            if not created:
                continue
            BracketAssignment.objects.create(
                family=family, bracket=bracket, valid_from=self.months[0]
            )
            if number == 7:
                # A quotient familial revised in the middle of a month.
                BracketAssignment.objects.create(
                    family=family,
                    bracket=brackets[0],
                    valid_from=self.months[-4] + datetime.timedelta(days=14),
                )
            adults = rng.sample(FIRST_NAMES_ADULT, 1 if number % 4 == 0 else 2)
            for index, first in enumerate(adults):
                slug = f"{first}.{last_name}".lower().replace(" ", "").replace("ë", "e")
                slug = slug.replace("é", "e").replace("è", "e").replace("ï", "i")
                Guardian.objects.create(
                    family=family,
                    first_name=first,
                    last_name=last_name,
                    # Every third family has no e-mail: it cannot reset by mail.
                    email="" if number % 3 == 1 else f"{slug}{index}@example.org",
                    phone_mobile=f"+590690{rng.randrange(100000, 999999)}",
                    phone_home=f"+590590{rng.randrange(100000, 999999)}"
                    if index == 0
                    else "",
                )
            # Siblings never share a first name.
            for first_name in rng.sample(FIRST_NAMES_CHILD, rng.randrange(1, 4)):
                school, classes = rng.choice(SCHOOLS)
                child = Child.objects.create(
                    family=family,
                    first_name=first_name,
                    last_name=last_name,
                    # Of school age, whatever the year.
                    birth_date=datetime.date(
                        self.today.year - rng.randrange(4, 12),
                        rng.randrange(1, 13),
                        rng.randrange(1, 29),
                    ),
                    school=school,
                    school_class=rng.choice(classes),
                )
                self.seed_attendance(child, rng)
        return families

    def seed_attendance(self, child: Child, rng: random.Random) -> None:
        """School days from the start of the demo's history until yesterday."""
        canteen, after_school = Activity.objects.order_by("pk")[:2]
        yesterday = self.today - datetime.timedelta(days=1)
        day = self.months[0]
        rows = []
        while day <= yesterday:
            in_term = day.month not in SUMMER_MONTHS
            if in_term and day.weekday() in SCHOOL_WEEKDAYS and rng.random() < 0.9:
                rows.append(Attendance(child=child, activity=canteen, date=day))
                if child.pk % 3 == 0 and rng.random() < 0.5:
                    rows.append(
                        Attendance(child=child, activity=after_school, date=day)
                    )
            day += datetime.timedelta(days=1)
        Attendance.objects.bulk_create(rows)

    def seed_invoices(self) -> None:
        """Invoice every finished month of the history, then correct two
        invoices so that the demo shows every state: a credit note on
        PB-000003's last invoice, PB-000005's third-last cancelled."""
        admin = User.objects.get(username="admin")
        for period in self.months:
            result = invoice_issue_month(
                period=period, issued_by=admin, today=self.today
            )
            # Issued on the 2nd of the month after, as the service does it,
            # not all today: the agents' home page then ages them.
            issued = datetime.datetime.combine(
                next_month(period) + datetime.timedelta(days=1),
                datetime.time(8),
                timezone.get_current_timezone(),
            )
            Invoice.objects.filter(pk__in=result.created_ids).update(
                issued_at=min(issued, timezone.now())
            )
        periods = invoiced_periods()
        refunded = Invoice.objects.filter(
            family__identifier__endswith="03", period=periods[-1]
        ).first()
        if refunded is not None and not refunded.credit_notes.exists():
            line = refunded.lines.all()[0]
            credit_note_issue(
                invoice=refunded,
                lines=[
                    CreditLine(
                        label=f"{line.label} – 2 repas non pris",
                        quantity=2,
                        unit_price=line.unit_price,
                    )
                ],
                reason="Absence pour maladie signalée avec certificat.",
                agent=admin,
            )
        cancelled = Invoice.objects.filter(
            family__identifier__endswith="05", period=periods[-3]
        ).first()
        if cancelled is not None and not cancelled.credit_notes.exists():
            invoice_cancel(
                invoice=cancelled,
                reason="Fréquentation saisie sur le mauvais enfant.",
                agent=admin,
            )
        self.seed_payments(admin)

    def seed_duplicate(self) -> None:
        """PB-000031 is the same household as PB-000008, registered twice:
        it shows in the suspected duplicates, ready to be merged."""
        identifier = f"{settings.FAMILY_IDENTIFIER_PREFIX}-000031"
        if Family.objects.filter(identifier=identifier).exists():
            return
        original = Family.objects.get(
            identifier=f"{settings.FAMILY_IDENTIFIER_PREFIX}-000008"
        )
        twin = Family.objects.create(
            identifier=identifier,
            name=original.name,
            address_line1=original.address_line1,
            postal_code=original.postal_code,
            city=original.city,
        )
        BracketAssignment.objects.create(
            family=twin,
            bracket=original.bracket_assignments.all()[0].bracket,
            valid_from=self.months[0],
        )
        guardian = original.guardians.all()[0]
        Guardian.objects.create(
            family=twin,
            first_name=guardian.first_name,
            last_name=guardian.last_name,
            email=guardian.email,
            phone_mobile=guardian.phone_mobile,
        )
        child = original.children.all()[0]
        Child.objects.create(
            family=twin,
            first_name=child.first_name,
            last_name=child.last_name,
            birth_date=child.birth_date,
            school=child.school,
            school_class=child.school_class,
        )
        User.objects.create(
            username=identifier,
            family=twin,
            password=make_password(DEMO_FAMILY_PASSWORD),
        )
        family_login_emails_sync(family=twin)

    def seed_reports(self) -> None:
        """Two reports for agents to handle: a disputed amount and a family
        that says it has two accounts."""
        if Report.objects.exists():
            return
        for identifier, kind, message in [
            (
                "PB-000006",
                Report.Kind.WRONG_AMOUNT,
                "Mon fils n'a pas mangé à la cantine pendant la sortie scolaire.",
            ),
            (
                "PB-000008",
                Report.Kind.SEVERAL_ACCOUNTS,
                "Nous avons reçu deux courriers avec deux identifiants différents.",
            ),
        ]:
            family = Family.objects.get(identifier=identifier)
            invoice = (
                family.invoices.order_by("-period").first()
                if kind == Report.Kind.WRONG_AMOUNT
                else None
            )
            report_submit(
                family=family,
                user=family.logins.first(),
                kind=kind,
                message=message,
                request_key=f"demo-{identifier}",
                invoice=invoice,
            )

    def seed_payments(self, admin: User) -> None:
        """Families paid at the desk all but their last two months, so that
        PB-000001 can pay two invoices online; every fifth family (PB-000004,
        PB-000009…) left its last three unpaid and is blocked online;
        PB-000002 paid part of one."""
        if Payment.objects.exists():
            return
        periods = invoiced_periods()
        for family in Family.objects.order_by("identifier"):
            number = int(family.identifier[-6:])
            left_unpaid = periods[-3:] if number % 5 == 4 else periods[-2:]
            old = list(
                Invoice.objects.with_balance()  # type: ignore[misc]  # an annotation
                .filter(family=family, due__gt=0)
                .exclude(period__in=left_unpaid)
                .order_by("period")
            )
            allocations = {invoice.pk: invoice.due for invoice in old}
            if number == 2:
                recent = Invoice.objects.with_balance().filter(
                    family=family, period=periods[-1]
                )
                allocations.update({invoice.pk: Decimal("10.00") for invoice in recent})
            if not allocations:
                continue
            advance = Decimal("20.00") if number == 6 else Decimal("0")
            payment_record_desk(
                family=family,
                method=Payment.Method.CHEQUE if number % 2 else Payment.Method.CASH,
                amount=sum(allocations.values(), advance),
                allocations=allocations,
                agent=admin,
                reference=f"{number:07d}" if number % 2 else "",
                keep_as_credit="Avance sur les repas du mois prochain."
                if advance
                else "",
            )

    def seed_staff(self) -> None:
        admin, created = User.objects.get_or_create(
            username="admin",
            defaults={
                "is_staff": True,
                "is_superuser": True,
                "first_name": "Administrateur",
            },
        )
        if created:
            admin.set_password(DEMO_STAFF_PASSWORDS["admin"])
            admin.save()
        agent, created = User.objects.get_or_create(
            username="agent",
            defaults={
                "is_staff": True,
                "first_name": "Agent",
                "last_name": "Restauration",
            },
        )
        if created:
            agent.set_password(DEMO_STAFF_PASSWORDS["agent"])
            agent.save()
            agent.groups.add(Group.objects.get(name=AGENT_GROUP))

    def seed_family_logins(self, families: list[Family]) -> None:
        # All but the last family activated their login long ago: they log in
        # with the demo password (hashed once, shared, to keep seeding quick).
        password_hash = make_password(DEMO_FAMILY_PASSWORD)
        for family in families[:-1]:
            if not family.logins.exists():
                User.objects.create(
                    username=family.identifier, family=family, password=password_hash
                )
                family_login_emails_sync(family=family)
        # The last family has not activated its login yet: it has only a code.
        # (a new one once the previous code has expired, so that the demo
        # always prints a code that works).
        last = families[-1]
        login = last.logins.first()
        if login is None or (
            not login.has_usable_password()
            and activation_code_pending(user=login) is None
        ):
            family_login_create(family=last, agent=User.objects.get(username="admin"))

    def stale(self) -> bool:
        """Whether the demo in the database was loaded in an earlier month:
        its last invoices are not for the last month with meals."""
        with_meals = [
            month for month in self.months if month.month not in SUMMER_MONTHS
        ]
        return invoiced_periods()[-1:] != with_meals[-1:]

    def print_logins(self) -> None:
        prefix = settings.FAMILY_IDENTIFIER_PREFIX
        first, last = f"{prefix}-000001", f"{prefix}-{FAMILY_COUNT:06d}"
        login = User.objects.filter(username=last).first()
        if login is None:
            raise CommandError("No demo data: run seed_demo first.")
        pending = activation_code_pending(user=login)
        code = pending[1] if pending else "(none: this login was activated)"
        self.stdout.write(
            self.style.SUCCESS(
                f"Portail Familles (demo): {settings.PORTAIL_COMMUNE['portal_url']}/"
            )
            + f"""
  Families {first} … {prefix}-{FAMILY_COUNT - 1:06d}: password {DEMO_FAMILY_PASSWORD}
    {first} owes two invoices; {prefix}-000004 is blocked online (3 unpaid).
  First login of {last}: activation code {code}
  Administrator: admin / {DEMO_STAFF_PASSWORDS["admin"]}
  Canteen agent: agent / {DEMO_STAFF_PASSWORDS["agent"]}
    Staff log in on the same page, then open /admin/ (no second factor
    in the demo; production asks for an authenticator app).
  {self.window_text()}
"""
        )

    def window_text(self) -> str:
        rules = payment_rules()
        days = rules.online_days
        if self.today.day in days:
            return (
                f"Card payment is open today ({self.today:%d/%m}; days {days.first}"
                f"-{days.last} of each month): test card 4242 4242 4242 4242."
            )
        opens = next_online_window(self.today, rules)
        return (
            f"Card payment is closed today ({self.today:%d/%m}): it opens on "
            f"{opens:%d/%m/%Y}.\n  To try it now: "
            "PORTAIL_ONLINE_PAYMENT_DAYS=1-31 make run"
        )
