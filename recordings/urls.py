from django.urls import path

from portal.routing import view_path
from recordings import views

urlpatterns = [
    view_path("recordings/", views.recording_list),
    view_path("calls/<id:pk>/media", views.call_media_live),
    view_path("recordings/<id:pk>/audio", views.recording_audio),
    view_path("recordings/<id:pk>/delete", views.recording_delete),
    path("recordings/retention/", views.retention_list, name="recording_retention"),
    path("recordings/retention/<id:account_id>", views.retention_edit,
         name="recording_retention_edit"),
]
