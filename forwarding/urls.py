from django.urls import path

from forwarding import views

urlpatterns = [
    path("settings/forwarding/", views.forwarding_list, name="forwarding_list"),
    path("settings/forwarding/new", views.forwarding_create, name="forwarding_create"),
    path("settings/forwarding/<id:pk>/", views.forwarding_detail, name="forwarding_detail"),
    path("settings/forwarding/<id:pk>/edit", views.forwarding_edit, name="forwarding_edit"),
    path("settings/forwarding/<id:pk>/log", views.forwarding_log_live, name="forwarding_log_live"),
    path("settings/forwarding/<id:pk>/secret", views.forwarding_secret, name="forwarding_secret"),
    path("settings/forwarding/<id:pk>/enable", views.forwarding_enable, name="forwarding_enable"),
    path(
        "settings/forwarding/<id:pk>/disable", views.forwarding_disable, name="forwarding_disable"
    ),
    path("settings/forwarding/<id:pk>/delete", views.forwarding_delete, name="forwarding_delete"),
    path("settings/forwarding/<id:pk>/replay", views.forwarding_replay, name="forwarding_replay"),
    path(
        "settings/forwarding/deliveries/<id:pk>/replay",
        views.forwarding_delivery_replay,
        name="forwarding_delivery_replay",
    ),
]
