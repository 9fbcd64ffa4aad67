from django.urls import path

from recordings import views

urlpatterns = [
    path("recordings/", views.recording_list, name="recording_list"),
    path("calls/<id:pk>/media", views.call_media_live, name="call_media_live"),
    path("recordings/<id:pk>/audio", views.recording_audio, name="recording_audio"),
    path("recordings/<id:pk>/delete", views.recording_delete, name="recording_delete"),
    path("recordings/retention/", views.retention_list, name="recording_retention"),
    path(
        "recordings/retention/<id:account_id>",
        views.retention_edit,
        name="recording_retention_edit",
    ),
]
