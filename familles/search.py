"""Finding a family by anything an agent hears at the desk: its identifier,
a guardian's or a child's name, a phone number however it is spelt, an
e-mail address. Accents and capitals are ignored ("eloi" finds "Éloi").

One search serves every staff list that shows families (the families, the
desk, reports, address requests…): `FamilySearchMixin` for the admin
lists, `families_matching` for the desk."""

import re

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.lookups import Contains
from django.http import HttpRequest

from familles.models import Child, Family, Guardian
from portail.lookups import Fold, fold

# A phone number as people say or write it: digits with spaces, dots,
# dashes, brackets or slashes, maybe a leading + ("0690 12 34 56",
# "+590 690-12-34-56", "00590690123456").
_PHONE = re.compile(r"^\+?[\d\s.\-()/]+$")
# Fewer digits than this would match most numbers of the island.
PHONE_MIN_DIGITS = 6
PHONE_FIELDS = ("phone_mobile", "phone_home", "phone_work")


def phone_digits(text: str) -> str | None:
    """The digits a stored number (`+590690123456`) contains when `text`
    is a phone number or a part of one, without the national 0 or the
    international 00 (they are not stored), or None."""
    text = text.strip()
    if not _PHONE.match(text):
        return None
    digits = re.sub(r"\D", "", text)
    if digits.startswith("00"):
        digits = digits[2:]
    elif digits.startswith("0") and not text.startswith("+"):
        digits = digits[1:]
    return digits if len(digits) >= PHONE_MIN_DIGITS else None


def _contains(field: str, text: str) -> Contains:
    return Contains(Fold(field), text)


def _word(word: str) -> Q:
    """Families where `word` (folded) is in the identifier, the name, a
    guardian's name or e-mail, or a child's name."""
    guardians = Guardian.objects.filter(family=OuterRef("pk")).filter(
        Q(_contains("first_name", word))
        | Q(_contains("last_name", word))
        | Q(_contains("email", word))
    )
    children = Child.objects.filter(family=OuterRef("pk")).filter(
        Q(_contains("first_name", word)) | Q(_contains("last_name", word))
    )
    return (
        Q(_contains("identifier", word))
        | Q(_contains("name", word))
        | Q(Exists(guardians))
        | Q(Exists(children))
    )


def _phone(digits: str) -> Q:
    phones = Q()
    for field in PHONE_FIELDS:
        phones |= Q(**{f"{field}__contains": digits})
    return Q(Exists(Guardian.objects.filter(phones, family=OuterRef("pk"))))


def family_search(text: str) -> Q | None:
    """The families `text` describes, as a condition on `Family`, or None
    when `text` says nothing. A phone number is one term; otherwise every
    word must be found somewhere in the family ("eloi jacoby")."""
    text = " ".join(text.split())[:200]
    if not text:
        return None
    digits = phone_digits(text)
    if digits is not None:
        return _phone(digits) | _word(fold(text) or "")
    condition = Q()
    for word in (fold(text) or "").split(" "):
        condition &= _word(word)
    return condition


def families_matching(text: str) -> QuerySet[Family]:
    """The families, not merged into another, that `text` describes."""
    condition = family_search(text)
    if condition is None:
        return Family.objects.none()
    return Family.objects.filter(condition, merged_into__isnull=True)


class FamilySearchMixin:
    """An admin list whose search box also finds rows by their family, as
    `family_search` does. `family_path` leads from the list's model to
    the family ("" for the families themselves)."""

    family_path = "family"

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        found, may_have_duplicates = super().get_search_results(  # type: ignore[misc]
            request, queryset, search_term
        )
        condition = family_search(search_term)
        if condition is None:
            return found, may_have_duplicates
        if self.family_path:
            families = Family.objects.filter(condition).values("pk")
            by_family = queryset.filter(**{f"{self.family_path}__in": families})
        else:
            by_family = queryset.filter(condition)
        return found | by_family, may_have_duplicates


# The desk shows at most this many families for one search.
DESK_CHOICES = 20


def family_find(text: str) -> list[Family]:
    """The families the desk offers for `text`: the one whose identifier
    it is, else those it describes (up to `DESK_CHOICES` + 1, so that the
    page can say there are more), with their guardians and children."""
    families = Family.objects.filter(merged_into__isnull=True).prefetch_related(
        "guardians", "children"
    )
    exact = list(families.filter(identifier__iexact=text.strip()))
    if exact:
        return exact
    condition = family_search(text)
    if condition is None:
        return []
    return list(families.filter(condition).order_by("identifier")[: DESK_CHOICES + 1])
