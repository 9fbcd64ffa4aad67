from alerts import views
from portal.routing import view_path

urlpatterns = [
    view_path("alerts/", views.alert_list),
    view_path("alerts/live", views.alert_list_live),
    view_path("settings/alerts/", views.alert_settings),
    view_path("settings/alerts/rules/new", views.alert_rule_create),
    view_path("settings/alerts/rules/<id:pk>/", views.alert_rule_edit),
    view_path("settings/alerts/rules/<id:pk>/delete", views.alert_rule_delete),
    view_path("settings/alerts/channels/new", views.alert_channel_create),
    view_path("settings/alerts/channels/<id:pk>/", views.alert_channel_edit),
    view_path("settings/alerts/channels/<id:pk>/delete", views.alert_channel_delete),
    view_path("settings/alerts/channels/<id:pk>/test", views.alert_channel_test),
]
