from django.urls import path

from familles import views

app_name = "familles"

urlpatterns = [
    path("mon-dossier/", views.dossier, name="dossier"),
    path("mon-dossier/factures-papier/", views.paperless, name="paperless"),
    path("mon-dossier/coordonnees/<id:pk>/", views.contact_edit, name="contact_edit"),
    path(
        "mon-dossier/coordonnees/verification/",
        views.contact_review,
        name="contact_review",
    ),
    path("mon-dossier/demenagement/", views.address_edit, name="address_edit"),
    path(
        "mon-dossier/demenagement/verification/",
        views.address_review,
        name="address_review",
    ),
    path(
        "mon-dossier/justificatifs/<id:pk>/",
        views.proof_download,
        name="proof_download",
    ),
    path("mon-dossier/historique/", views.dossier_history, name="history"),
    path("premiere-connexion/", views.activation, name="activation"),
    path(
        "agents/double-authentification/",
        views.staff_enrolment,
        name="staff_enrolment",
    ),
]
