from django.urls import path

from calls import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
]
