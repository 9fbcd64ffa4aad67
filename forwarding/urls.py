from forwarding import views
from portal.routing import view_path

urlpatterns = [
    view_path("settings/forwarding/", views.forwarding_list),
    view_path("settings/forwarding/new", views.forwarding_create),
    view_path("settings/forwarding/<id:pk>/", views.forwarding_detail),
    view_path("settings/forwarding/<id:pk>/edit", views.forwarding_edit),
    view_path("settings/forwarding/<id:pk>/log", views.forwarding_log_live),
    view_path("settings/forwarding/<id:pk>/secret", views.forwarding_secret),
    view_path("settings/forwarding/<id:pk>/enable", views.forwarding_enable),
    view_path("settings/forwarding/<id:pk>/disable", views.forwarding_disable),
    view_path("settings/forwarding/<id:pk>/delete", views.forwarding_delete),
    view_path("settings/forwarding/<id:pk>/replay", views.forwarding_replay),
    view_path("settings/forwarding/deliveries/<id:pk>/replay", views.forwarding_delivery_replay),
]
