from django.urls import path

from factures import views

app_name = "factures"

urlpatterns = [
    path("", views.invoice_list, name="list"),
]
