"""Numbers read from a request (query, form, URL), refused cleanly.

`str.isdigit()` accepts "²" and "١", which `int()` then refuses or reads
as another number, and a 25-digit id overflows SQLite's integers: both
ended in a 500. Here only ASCII digits pass, and at most 18 of them (any
database's 64-bit integer takes that).
"""

from typing import Any

from django.urls import register_converter

MAX_DIGITS = 18


def parse_int(value: Any, *, digits: int = MAX_DIGITS) -> int | None:
    """The whole number in `value`, or None if it is anything else."""
    text = str(value if value is not None else "").strip()
    if not text or len(text) > digits or not (text.isascii() and text.isdigit()):
        return None
    return int(text)


def parse_id(value: Any) -> int | None:
    """A row's id (a positive number) from a request, or None."""
    number = parse_int(value)
    return number if number else None


class IdConverter:
    """`<id:pk>` in a URL: an id of at most 18 digits (`<int:…>` takes any
    length, and SQLite overflows)."""

    regex = f"[0-9]{{1,{MAX_DIGITS}}}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id")
