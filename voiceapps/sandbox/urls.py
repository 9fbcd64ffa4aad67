"""Mounted at /sandbox/: Vonage's and jambonz's paths under the sandbox's base URL."""

from django.urls import path

from voiceapps.sandbox import jambonz_api, views

urlpatterns = [
    path("v1/calls", views.calls, name="sandbox_calls"),
    path("v1/calls/<str:call_uuid>", views.call_detail, name="sandbox_call"),
    path("v1/calls/<str:call_uuid>/talk", views.call_talk, name="sandbox_call_talk"),
    path("v1/calls/<str:call_uuid>/stream", views.call_stream, name="sandbox_call_stream"),
    path("v1/calls/<str:call_uuid>/dtmf", views.call_dtmf, name="sandbox_call_dtmf"),
    path("v1/files/<str:file_id>", views.recording, name="sandbox_recording"),
    path("v1/transcripts/<str:file_id>", views.transcript, name="sandbox_transcript"),
    path("v2/applications", views.applications, name="sandbox_applications"),
    path("v2/applications/<str:app_id>", views.application_detail, name="sandbox_application"),
    path("account/numbers", views.account_numbers, name="sandbox_numbers"),
    path("number/update", views.number_update, name="sandbox_number_update"),
    # jambonz's REST API, for Sandbox (jambonz) accounts (jambonz_api.py).
    path("v1/Accounts/<str:account_sid>", jambonz_api.account_detail, name="sandbox_jb_account"),
    path("v1/Accounts/<str:account_sid>/Calls", jambonz_api.calls, name="sandbox_jb_calls"),
    path("v1/Accounts/<str:account_sid>/Calls/<str:call_sid>", jambonz_api.call_detail,
         name="sandbox_jb_call"),
    path("v1/Accounts/<str:account_sid>/RecentCalls/<str:call_sid>/record/"
         "<str:year>/<str:month>/<str:day>/<str:file_format>", jambonz_api.recording,
         name="sandbox_jb_recording"),
    path("v1/Applications", jambonz_api.applications, name="sandbox_jb_applications"),
    path("v1/Applications/<str:application_sid>", jambonz_api.application_detail,
         name="sandbox_jb_application"),
    path("v1/PhoneNumbers", jambonz_api.phone_numbers, name="sandbox_jb_numbers"),
    path("v1/PhoneNumbers/<str:phone_number_sid>", jambonz_api.phone_number_detail,
         name="sandbox_jb_number"),
]
