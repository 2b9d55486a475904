"""What the report form and the help page say about reports that set an
invoice aside: both read the kinds from `Report.FREEZING_KINDS`."""

from typing import Any

from django import template

from signalements.models import Report

register = template.Library()


@register.inclusion_tag("signalements/_freezing_kinds.html")
def report_freezing_note(
    note_id: str = "signalement-facture-de-cote",
) -> dict[str, Any]:
    """The kinds of report that set the invoice they name aside, and what
    that means for the family; `note_id` lets a form point at it."""
    return {"note_id": note_id, "kinds": Report.freezing_kind_labels()}
