from django.urls import path

from alerts.api import views

urlpatterns = [
    path("alerts", views.AlertListApi.as_view(), name="api_alerts"),
    path("alerts/rules", views.AlertRuleListCreateApi.as_view(), name="api_alert_rules"),
    path("alerts/rules/<id:pk>", views.AlertRuleDetailApi.as_view(), name="api_alert_rule"),
    path("alerts/channels", views.AlertChannelListCreateApi.as_view(),
         name="api_alert_channels"),
    path("alerts/channels/<id:pk>", views.AlertChannelDetailApi.as_view(),
         name="api_alert_channel"),
    path("alerts/channels/<id:pk>/test", views.AlertChannelTestApi.as_view(),
         name="api_alert_channel_test"),
]
