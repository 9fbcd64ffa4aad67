from django.urls import path

from metrics import views
from portal.routing import view_path

urlpatterns = [
    view_path("metrics", views.metrics),
    path("status/", views.status_page, name="system_status"),
    path("status/live", views.status_live, name="system_status_live"),
]
