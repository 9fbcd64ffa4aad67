from django.urls import path

from calls.api import logs, views

urlpatterns = [
    path("calls", views.CallListCreateApi.as_view(), name="api_calls"),
    path("calls/<int:pk>", views.CallDetailApi.as_view(), name="api_call"),
    path("calls/<int:pk>/events", logs.CallEventListApi.as_view(), name="api_call_events"),
    path("webhook-deliveries", logs.WebhookDeliveryListApi.as_view(),
         name="api_webhook_deliveries"),
    path("call-profiles", views.CallProfileListCreateApi.as_view(), name="api_call_profiles"),
    path("call-profiles/<int:pk>", views.CallProfileDetailApi.as_view(), name="api_call_profile"),
]
