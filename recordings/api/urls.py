from django.urls import path

from recordings.api import views

urlpatterns = [
    path("recordings", views.RecordingListApi.as_view(), name="api_recordings"),
    path("recordings/<id:pk>", views.RecordingDetailApi.as_view(), name="api_recording"),
    path(
        "recordings/<id:pk>/audio",
        views.RecordingDownloadApi.as_view(),
        name="api_recording_download",
    ),
    path(
        "recordings/retention/<id:account_id>",
        views.MediaRetentionApi.as_view(),
        name="api_recording_retention",
    ),
]
