from django.urls import path

from signalements import views

app_name = "signalements"

urlpatterns = [
    path("", views.report_list, name="report_list"),
    path("nouveau/", views.report_new, name="report_new"),
    path("<id:pk>/", views.report_detail, name="report_detail"),
    path("pieces/<id:pk>/", views.report_attachment, name="report_attachment"),
]
