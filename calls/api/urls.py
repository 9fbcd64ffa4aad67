from django.urls import path

from calls.api import control, logs, views

urlpatterns = [
    path("calls", views.CallListCreateApi.as_view(), name="api_calls"),
    path("calls/<id:pk>", views.CallDetailApi.as_view(), name="api_call"),
    path("calls/<id:pk>/events", logs.CallEventListApi.as_view(), name="api_call_events"),
    path("calls/<id:pk>/hangup", control.CallHangupApi.as_view(), name="api_call_hangup"),
    path("calls/<id:pk>/mute", control.CallMuteApi.as_view(), name="api_call_mute"),
    path("calls/<id:pk>/unmute", control.CallUnmuteApi.as_view(), name="api_call_unmute"),
    path("calls/<id:pk>/earmuff", control.CallEarmuffApi.as_view(), name="api_call_earmuff"),
    path("calls/<id:pk>/unearmuff", control.CallUnearmuffApi.as_view(),
         name="api_call_unearmuff"),
    path("calls/<id:pk>/transfer", control.CallTransferApi.as_view(), name="api_call_transfer"),
    path("calls/<id:pk>/talk", control.CallTalkApi.as_view(), name="api_call_talk"),
    path("calls/<id:pk>/stream", control.CallStreamApi.as_view(), name="api_call_stream"),
    path("calls/<id:pk>/dtmf", control.CallDtmfApi.as_view(), name="api_call_dtmf"),
    path("calls/<id:pk>/listen", control.CallListenApi.as_view(), name="api_call_listen"),
    path("webhook-deliveries", logs.WebhookDeliveryListApi.as_view(),
         name="api_webhook_deliveries"),
    path("call-profiles", views.CallProfileListCreateApi.as_view(), name="api_call_profiles"),
    path("call-profiles/<id:pk>", views.CallProfileDetailApi.as_view(), name="api_call_profile"),
]
