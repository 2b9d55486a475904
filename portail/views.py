import datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from factures.models import PAPER_BATCH_KEEP
from familles.access import family_required
from familles.models import AddressChangeRequest, Family
from paiements.rules import payment_rules
from paiements.summary import family_money_summary
from signalements.models import Report


@family_required
def home(request: HttpRequest, *, family: Family) -> HttpResponse:
    """The family's summary: what to pay and by when (or why it cannot pay
    online and the way out), its credit, what is in progress, its last
    payment."""
    return render(
        request,
        "portail/home.html",
        {
            "family": family,
            "children": family.children.all(),
            "money": family_money_summary(family),
            "rules": payment_rules(),
            "address_requests": family.address_requests.filter(
                status=AddressChangeRequest.Status.PENDING
            ).order_by("submitted_at"),
            "reports": Report.objects.open()
            .filter(family=family)
            .order_by("-created_at")[:5],
        },
    )


def help_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "portail/help.html",
        {
            "activation_days": settings.ACTIVATION_CODE_VALID_DAYS,
            "rules": payment_rules(),
        },
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(request, "403_csrf.html", status=403)


def _public_page(template: str) -> Any:
    def page(request: HttpRequest) -> HttpResponse:
        return render(
            request,
            template,
            {
                "activation_days": settings.ACTIVATION_CODE_VALID_DAYS,
                "paper_batch_days": PAPER_BATCH_KEEP.days,
                "checked_on": datetime.date.fromisoformat(
                    settings.PORTAIL_COMMUNE["accessibility_checked_on"]
                ),
            },
        )

    page.__name__ = template.rsplit("/", 1)[-1].removesuffix(".html")
    return page


# The pages every French public service's site must have, linked from every
# page's footer; their facts come from settings (PORTAIL_COMMUNE).
accessibility = _public_page("portail/accessibility.html")
legal_notice = _public_page("portail/legal_notice.html")
personal_data = _public_page("portail/personal_data.html")
