import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from factures.attendance_import import attendance_import, attendance_parse
from factures.models import Attendance
from tests.factories import ChildFactory, FamilyFactory
from tests.factures.conftest import OCTOBER, attend

pytestmark = pytest.mark.django_db

HEADER = "identifiant_famille;prenom;nom;date;activite\n"


@pytest.fixture
def kenzo(prices, canteen):  # noqa: ANN001, ANN201
    family = FamilyFactory(identifier="PB-004217", name="Dorville", bracket=prices["B"])
    return ChildFactory(family=family, first_name="Kenzo", last_name="Dorville")


def parse(text: str, encoding: str = "utf-8"):  # noqa: ANN201
    return attendance_parse(data=text.encode(encoding), period=OCTOBER)


def errors_of(parsed) -> list[str]:  # noqa: ANN001
    return parsed.errors + [e for row in parsed.rows for e in row.errors]


def test_a_good_file_is_previewed_then_imported(kenzo, after_school):
    parsed = parse(
        HEADER
        + "PB-004217;Kenzo;Dorville;01/10/2026;\n"
        + "pb-004217;kenzo;DORVILLE;2026-10-02;cantine\n"
        + "PB-004217;Kenzo;Dorville;02/10/2026;garderie\n"
    )

    assert parsed.is_valid, errors_of(parsed)
    assert Attendance.objects.count() == 0  # the preview writes nothing
    assert attendance_import(parsed=parsed) == 3
    assert sorted(
        (a.date.day, a.activity.code) for a in Attendance.objects.filter(child=kenzo)
    ) == [(1, "cantine"), (2, "cantine"), (2, "garderie")]


def test_commas_and_a_byte_order_mark_are_accepted(kenzo):
    parsed = attendance_parse(
        data="\ufeffidentifiant_famille,prenom,nom,date,activite\nPB-004217,Kenzo,Dorville,05/10/2026,\n".encode(),
        period=OCTOBER,
    )

    assert parsed.is_valid, errors_of(parsed)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "PB-004217;Noam;Dorville;01/10/2026;",
            "Aucun enfant Noam Dorville dans la famille PB-004217",
        ),
        (
            "PB-999999;Kenzo;Dorville;01/10/2026;",
            "Aucun enfant Kenzo Dorville dans la famille PB-999999",
        ),
        ("PB-004217;Kenzo;Dorville;01/11/2026;", "n'est pas en octobre 2026"),
        ("PB-004217;Kenzo;Dorville;31/09/2026;", "n'est pas une date"),
        ("PB-004217;Kenzo;Dorville;01/10/2026;piscine", "Activité inconnue"),
    ],
)
def test_a_bad_row_is_explained_in_french_and_nothing_is_imported(
    kenzo, line, expected
):
    parsed = parse(HEADER + "PB-004217;Kenzo;Dorville;02/10/2026;\n" + line + "\n")

    assert not parsed.is_valid
    assert parsed.rows[0].errors == []
    assert any(expected in error for error in parsed.rows[1].errors), parsed.rows[
        1
    ].errors
    assert parsed.rows[1].line == 3
    with pytest.raises(ValueError):
        attendance_import(parsed=parsed)
    assert Attendance.objects.count() == 0


def test_duplicates_in_the_file_and_in_the_database_are_refused(kenzo, canteen):
    attend(kenzo, canteen, 5)

    parsed = parse(
        HEADER
        + "PB-004217;Kenzo;Dorville;01/10/2026;\n"
        + "PB-004217;Kenzo;Dorville;01/10/2026;cantine\n"
        + "PB-004217;Kenzo;Dorville;05/10/2026;\n"
    )

    assert (
        "Même enfant, même activité et même jour que la ligne 2."
        in parsed.rows[1].errors
    )
    assert "Cette fréquentation est déjà enregistrée." in parsed.rows[2].errors
    assert Attendance.objects.count() == 1


def test_a_file_not_in_utf8_is_refused_with_the_fix(kenzo):
    parsed = parse(HEADER + "PB-004217;Kenzo;Dorvillé;01/10/2026;\n", encoding="cp1252")

    assert not parsed.is_valid
    assert "CSV UTF-8" in parsed.errors[0]


def test_missing_columns_and_empty_files_are_refused(kenzo):
    assert "Colonnes manquantes" in parse("famille;enfant\nPB-004217;Kenzo\n").errors[0]
    assert parse("").errors == ["Le fichier est vide."]
    assert parse(HEADER).errors == ["Le fichier ne contient aucune ligne de données."]


@pytest.mark.now("2026-11-05 09:00 -04:00")  # October is a month to choose
def test_agent_imports_through_preview_and_confirmation(staff_client, kenzo):
    url = reverse("admin:factures_attendance_import")
    upload = SimpleUploadedFile(
        "octobre.csv", (HEADER + "PB-004217;Kenzo;Dorville;01/10/2026;\n").encode()
    )

    preview = staff_client.post(url, {"month": "2026-10", "file": upload})

    assert preview.status_code == 200
    assert preview.context["parsed"].is_valid
    assert Attendance.objects.count() == 0
    done = staff_client.post(
        url, {"confirm": "1", "payload": preview.context["payload"]}
    )
    assert done.status_code == 302
    assert Attendance.objects.get().date == datetime.date(2026, 10, 1)


def test_a_tampered_preview_imports_nothing(staff_client, kenzo):
    response = staff_client.post(
        reverse("admin:factures_attendance_import"),
        {"confirm": "1", "payload": "forged"},
    )

    assert response.status_code == 302
    assert Attendance.objects.count() == 0
