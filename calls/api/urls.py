from django.urls import path

from calls.api import control, logs, views

urlpatterns = [
    path("calls", views.CallListCreateApi.as_view(), name="api_calls"),
    path("calls/<int:pk>", views.CallDetailApi.as_view(), name="api_call"),
    path("calls/<int:pk>/events", logs.CallEventListApi.as_view(), name="api_call_events"),
    path("calls/<int:pk>/hangup", control.CallHangupApi.as_view(), name="api_call_hangup"),
    path("calls/<int:pk>/mute", control.CallMuteApi.as_view(), name="api_call_mute"),
    path("calls/<int:pk>/unmute", control.CallUnmuteApi.as_view(), name="api_call_unmute"),
    path("calls/<int:pk>/earmuff", control.CallEarmuffApi.as_view(), name="api_call_earmuff"),
    path("calls/<int:pk>/unearmuff", control.CallUnearmuffApi.as_view(),
         name="api_call_unearmuff"),
    path("calls/<int:pk>/transfer", control.CallTransferApi.as_view(), name="api_call_transfer"),
    path("calls/<int:pk>/talk", control.CallTalkApi.as_view(), name="api_call_talk"),
    path("calls/<int:pk>/stream", control.CallStreamApi.as_view(), name="api_call_stream"),
    path("calls/<int:pk>/dtmf", control.CallDtmfApi.as_view(), name="api_call_dtmf"),
    path("calls/<int:pk>/listen", control.CallListenApi.as_view(), name="api_call_listen"),
    path("webhook-deliveries", logs.WebhookDeliveryListApi.as_view(),
         name="api_webhook_deliveries"),
    path("call-profiles", views.CallProfileListCreateApi.as_view(), name="api_call_profiles"),
    path("call-profiles/<int:pk>", views.CallProfileDetailApi.as_view(), name="api_call_profile"),
]
