from django.urls import path

from alerts import views

urlpatterns = [
    path("alerts/", views.alert_list, name="alert_list"),
    path("alerts/live", views.alert_list_live, name="alert_list_live"),
    path("settings/alerts/", views.alert_settings, name="alert_settings"),
    path("settings/alerts/rules/new", views.alert_rule_create, name="alert_rule_create"),
    path("settings/alerts/rules/<id:pk>/", views.alert_rule_edit, name="alert_rule_edit"),
    path("settings/alerts/rules/<id:pk>/delete", views.alert_rule_delete,
         name="alert_rule_delete"),
    path("settings/alerts/channels/new", views.alert_channel_create,
         name="alert_channel_create"),
    path("settings/alerts/channels/<id:pk>/", views.alert_channel_edit,
         name="alert_channel_edit"),
    path("settings/alerts/channels/<id:pk>/delete", views.alert_channel_delete,
         name="alert_channel_delete"),
    path("settings/alerts/channels/<id:pk>/test", views.alert_channel_test,
         name="alert_channel_test"),
]
