from django.urls import path

from calls.api import views

urlpatterns = [
    path("calls", views.CallListCreateApi.as_view(), name="api_calls"),
    path("calls/export.csv", views.CallExportApi.as_view(), name="api_call_export"),
    path("calls/<id:pk>", views.CallDetailApi.as_view(), name="api_call"),
    path("calls/<id:pk>/events", views.CallEventListApi.as_view(), name="api_call_events"),
    path("calls/<id:pk>/hangup", views.CallHangupApi.as_view(), name="api_call_hangup"),
    path("calls/<id:pk>/mute", views.CallMuteApi.as_view(), name="api_call_mute"),
    path("calls/<id:pk>/unmute", views.CallUnmuteApi.as_view(), name="api_call_unmute"),
    path("calls/<id:pk>/earmuff", views.CallEarmuffApi.as_view(), name="api_call_earmuff"),
    path("calls/<id:pk>/unearmuff", views.CallUnearmuffApi.as_view(), name="api_call_unearmuff"),
    path("calls/<id:pk>/transfer", views.CallTransferApi.as_view(), name="api_call_transfer"),
    path("calls/<id:pk>/talk", views.CallTalkApi.as_view(), name="api_call_talk"),
    path("calls/<id:pk>/stream", views.CallStreamApi.as_view(), name="api_call_stream"),
    path("calls/<id:pk>/dtmf", views.CallDtmfApi.as_view(), name="api_call_dtmf"),
    path("calls/<id:pk>/listen", views.CallListenApi.as_view(), name="api_call_listen"),
    path(
        "webhook-deliveries", views.WebhookDeliveryListApi.as_view(), name="api_webhook_deliveries"
    ),
    path("webhook-deliveries/<id:pk>/replay", views.WebhookDeliveryReplayApi.as_view(),
         name="api_webhook_delivery_replay"),
    path("dashboard", views.DashboardApi.as_view(), name="api_dashboard"),
    path("test-call", views.TestCallApi.as_view(), name="api_test_call"),
    path("call-profiles", views.CallProfileListCreateApi.as_view(), name="api_call_profiles"),
    path("call-profiles/<id:pk>", views.CallProfileDetailApi.as_view(), name="api_call_profile"),
]
