from django.urls import path

from metrics import views

urlpatterns = [
    path("metrics", views.metrics, name="metrics"),
    path("status/", views.status_page, name="system_status"),
    path("status/live", views.status_live, name="system_status_live"),
]
