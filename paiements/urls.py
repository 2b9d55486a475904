from django.urls import path

from paiements import views

app_name = "paiements"

urlpatterns = [
    path("", views.payment_home, name="home"),
    path("verification/", views.payment_review, name="review"),
    path("payer/", views.payment_checkout, name="checkout"),
    path("retour/", views.payment_return, name="return"),
    path("annule/", views.payment_cancelled, name="cancelled"),
    path("historique/", views.payment_list, name="list"),
    path("releve/", views.statement, name="statement"),
    path("releve/pdf/", views.statement_download, name="statement_pdf"),
    path("recus/<id:pk>/", views.receipt, name="receipt"),
    path("webhook/stripe/", views.stripe_webhook, name="stripe_webhook"),
    path(
        "notification/payfip/",
        views.payfip_notification,
        name="payfip_notification",
    ),
]
