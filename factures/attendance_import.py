"""Attendance import from a CSV file: parse and check every row first (the
preview), then import all rows in one transaction, or nothing.

Columns (a header line, `;` or `,` separated, UTF-8):
    identifiant_famille ; prenom ; nom ; date ; activite
`date` as 10/11/2026 or 2026-11-10; `activite` is an activity code and may be
left empty for the school canteen (the first activity).
"""

from __future__ import annotations

import csv
import datetime
import io
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import formats
from django.utils.translation import gettext as _

from factures.models import Activity, Attendance
from factures.periods import month_end
from factures.sql import tables_analyze
from familles.models import Child

COLUMNS = ["identifiant_famille", "prenom", "nom", "date", "activite"]
MAX_BYTES = 2 * 1024 * 1024


@dataclass
class ParsedRow:
    line: int
    values: dict[str, str]
    child: Child | None = None
    activity: Activity | None = None
    date: datetime.date | None = None
    errors: list[str] = field(default_factory=list)


@dataclass
class ParsedFile:
    rows: list[ParsedRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # about the whole file

    @property
    def is_valid(self) -> bool:
        return (
            not self.errors and bool(self.rows) and not any(r.errors for r in self.rows)
        )

    @property
    def error_count(self) -> int:
        return len(self.errors) + sum(1 for r in self.rows if r.errors)


def _parse_date(text: str) -> datetime.date | None:
    for pattern in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.datetime.strptime(text.strip(), pattern).date()  # noqa: DTZ007 - a calendar date, no time
        except ValueError:
            continue
    return None


def attendance_parse(*, data: bytes, period: datetime.date) -> ParsedFile:
    """Check a CSV file for the month starting on `period`; writes nothing."""
    parsed = ParsedFile()
    if len(data) > MAX_BYTES:
        parsed.errors.append(_("The file is larger than 2 MB."))
        return parsed
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        parsed.errors.append(
            _(
                "The file is not in UTF-8. In your spreadsheet, save it as "
                "« CSV UTF-8 » and try again."
            )
        )
        return parsed
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        parsed.errors.append(_("The file is empty."))
        return parsed
    delimiter = ";" if lines[0].count(";") >= lines[0].count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [(name or "").strip().lower() for name in (reader.fieldnames or [])]
    missing = [column for column in COLUMNS[:4] if column not in header]
    if missing:
        parsed.errors.append(
            _("Missing columns: %(columns)s. Expected: %(expected)s.")
            % {"columns": ", ".join(missing), "expected": " ; ".join(COLUMNS)}
        )
        return parsed
    reader.fieldnames = header
    activities = {activity.code: activity for activity in Activity.objects.all()}
    default_activity = Activity.objects.order_by("pk").first()
    last_day = month_end(period)
    seen: dict[tuple, int] = {}
    for number, record in enumerate(reader, start=2):
        values = {column: (record.get(column) or "").strip() for column in COLUMNS}
        if not any(values.values()):
            continue
        row = ParsedRow(line=number, values=values)
        parsed.rows.append(row)
        row.date = _parse_date(values["date"])
        if row.date is None:
            row.errors.append(
                _("The date « %(value)s » is not a date (expected 10/11/2026).")
                % {"value": values["date"]}
            )
        elif not period <= row.date <= last_day:
            row.errors.append(
                _("The date %(date)s is outside %(month)s.")
                % {
                    "date": formats.date_format(row.date),
                    "month": formats.date_format(period, "F Y"),
                }
            )
        code = values["activite"]
        row.activity = activities.get(code) if code else default_activity
        if row.activity is None:
            row.errors.append(_("Unknown activity « %(code)s ».") % {"code": code})
        matches = list(
            Child.objects.filter(
                family__identifier__iexact=values["identifiant_famille"],
                first_name__iexact=values["prenom"],
                last_name__iexact=values["nom"],
            )[:2]
        )
        if len(matches) != 1:
            row.errors.append(
                _("No child %(first)s %(last)s in family %(family)s.")
                % {
                    "first": values["prenom"],
                    "last": values["nom"],
                    "family": values["identifiant_famille"] or "?",
                }
                if not matches
                else _(
                    "Several children match %(first)s %(last)s in family %(family)s."
                )
                % {
                    "first": values["prenom"],
                    "last": values["nom"],
                    "family": values["identifiant_famille"],
                }
            )
        else:
            row.child = matches[0]
        if row.errors or row.child is None or row.activity is None or not row.date:
            continue
        key = (row.child.pk, row.activity.pk, row.date)
        if key in seen:
            row.errors.append(
                _("Same child, activity and day as line %(line)s.")
                % {"line": seen[key]}
            )
            continue
        seen[key] = number
        existing = Attendance.objects.filter(
            child=row.child, activity=row.activity, date=row.date
        ).first()
        if existing is not None:
            row.errors.append(_("This attendance is already recorded."))
    if not parsed.rows and not parsed.errors:
        parsed.errors.append(_("The file has no data line."))
    return parsed


def attendance_import(*, parsed: ParsedFile) -> int:
    """Record every row of a valid file, or none; returns how many."""
    if not parsed.is_valid:
        raise ValueError("Only a file without errors can be imported.")
    try:
        with transaction.atomic():
            Attendance.objects.bulk_create(
                Attendance(child=row.child, activity=row.activity, date=row.date)
                for row in parsed.rows
                if row.date is not None
            )
    except IntegrityError:
        # Someone recorded one of these days between the preview and now.
        raise ValueError(
            _("Some of these days were recorded meanwhile: check the file again.")
        ) from None
    tables_analyze(Attendance)
    return len(parsed.rows)
