from django.urls import path

from paiements import views

app_name = "paiements"

urlpatterns = [
    path("", views.payment_home, name="home"),
]
