from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import ngettext

from factures.periods import parse_period
from factures.services import invoice_issue_month


class Command(BaseCommand):
    help = "Issue the invoices of a finished month (YYYY-MM). Safe to run again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("month", help="the month to invoice, e.g. 2026-10")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            period = parse_period(options["month"])
        except ValueError:
            raise CommandError("The month must look like 2026-10.") from None
        try:
            result = invoice_issue_month(period=period, issued_by=None)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(
            f"{result.created_count} invoice(s) issued, "
            f"{result.already_invoiced} family(ies) already invoiced."
        )
        self.stdout.write(
            ngettext(
                "%(count)s late meal billed as an adjustment.",
                "%(count)s late meals billed as adjustments.",
                result.late_meals,
            )
            % {"count": result.late_meals}
        )
        for identifier, reason in result.errors.items():
            self.stderr.write(f"{identifier}: {reason}")
        if result.errors:
            raise CommandError(
                f"{len(result.errors)} family(ies) could not be invoiced."
            )
