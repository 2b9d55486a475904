from django.urls import path

from factures import views

app_name = "factures"

urlpatterns = [
    path("", views.invoice_list, name="list"),
    path("<id:pk>/", views.invoice_detail, name="detail"),
    path("<id:pk>/pdf/", views.invoice_download, name="pdf"),
]
