"""Mounted at /sandbox/: Vonage's paths under the sandbox's base URL."""

from django.urls import path

from voiceapps.sandbox import views

urlpatterns = [
    path("v1/calls", views.calls, name="sandbox_calls"),
    path("v1/calls/<str:call_uuid>", views.call_detail, name="sandbox_call"),
    path("v1/calls/<str:call_uuid>/talk", views.call_talk, name="sandbox_call_talk"),
    path("v1/calls/<str:call_uuid>/stream", views.call_stream, name="sandbox_call_stream"),
    path("v1/calls/<str:call_uuid>/dtmf", views.call_dtmf, name="sandbox_call_dtmf"),
    path("v1/files/<str:file_id>", views.recording, name="sandbox_recording"),
    path("v2/applications", views.applications, name="sandbox_applications"),
    path("v2/applications/<str:app_id>", views.application_detail,
         name="sandbox_application"),
    path("account/numbers", views.account_numbers, name="sandbox_numbers"),
    path("number/update", views.number_update, name="sandbox_number_update"),
]
