from django.urls import path

from factures import views

app_name = "factures"

urlpatterns = [
    path("", views.invoice_list, name="list"),
    path("<int:pk>/", views.invoice_detail, name="detail"),
    path("<int:pk>/pdf/", views.invoice_download, name="pdf"),
]
