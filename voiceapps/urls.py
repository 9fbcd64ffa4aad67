from django.urls import include, path

from portal.routing import view_path
from voiceapps import views

urlpatterns = [
    path("nccos/", include("voiceapps.ncco.urls")),
    view_path("accounts/", views.account_list),
    view_path("accounts/new/", views.account_create),
    view_path("accounts/<id:pk>/", views.account_detail),
    view_path("accounts/<id:pk>/edit/", views.account_edit),
    view_path("accounts/<id:pk>/delete/", views.account_delete),
    view_path("accounts/<id:pk>/test/", views.account_test),
    view_path("accounts/<id:pk>/retire/", views.account_retire),
    view_path("accounts/<id:pk>/reactivate/", views.account_reactivate),
    view_path("accounts/<id:pk>/regenerate-token/", views.account_regenerate_token),
    view_path("applications/", views.application_list),
    view_path("applications/new/", views.application_create),
    view_path("applications/import/", views.application_import),
    view_path("applications/<id:pk>/", views.application_detail),
    view_path("applications/<id:pk>/edit/", views.application_edit),
    view_path("applications/<id:pk>/delete/", views.application_delete),
    view_path("applications/<id:pk>/push/", views.application_push),
    view_path("applications/<id:pk>/keypair/", views.application_keypair),
    view_path("applications/<id:pk>/private-key/", views.application_private_key),
    view_path("numbers/", views.number_list),
    view_path("numbers/new/", views.number_create),
    view_path("numbers/import/", views.number_import),
    view_path("numbers/<id:pk>/", views.number_detail),
    view_path("numbers/<id:pk>/edit/", views.number_edit),
    view_path("numbers/<id:pk>/delete/", views.number_delete),
    view_path("numbers/<id:pk>/link/", views.number_link),
]
