from django.urls import path

from familles import views

app_name = "familles"

urlpatterns = [
    path("mon-dossier/", views.dossier, name="dossier"),
    path("premiere-connexion/", views.activation, name="activation"),
]
