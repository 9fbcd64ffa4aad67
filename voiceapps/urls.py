from django.urls import include, path

from voiceapps import views

urlpatterns = [
    path("nccos/", include("voiceapps.ncco.urls")),
    path("accounts/", views.account_list, name="account_list"),
    path("accounts/new/", views.account_create, name="account_create"),
    path("accounts/<id:pk>/", views.account_detail, name="account_detail"),
    path("accounts/<id:pk>/edit/", views.account_edit, name="account_edit"),
    path("accounts/<id:pk>/delete/", views.account_delete, name="account_delete"),
    path("accounts/<id:pk>/test/", views.account_test, name="account_test"),
    path("accounts/<id:pk>/regenerate-token/", views.account_regenerate_token,
         name="account_regenerate_token"),
    path("applications/", views.application_list, name="application_list"),
    path("applications/new/", views.application_create, name="application_create"),
    path("applications/import/", views.application_import, name="application_import"),
    path("applications/<id:pk>/", views.application_detail, name="application_detail"),
    path("applications/<id:pk>/edit/", views.application_edit, name="application_edit"),
    path("applications/<id:pk>/delete/", views.application_delete, name="application_delete"),
    path("applications/<id:pk>/push/", views.application_push, name="application_push"),
    path("applications/<id:pk>/keypair/", views.application_keypair,
         name="application_keypair"),
    path("applications/<id:pk>/private-key/", views.application_private_key,
         name="application_private_key"),
    path("numbers/", views.number_list, name="number_list"),
    path("numbers/new/", views.number_create, name="number_create"),
    path("numbers/import/", views.number_import, name="number_import"),
    path("numbers/<id:pk>/", views.number_detail, name="number_detail"),
    path("numbers/<id:pk>/edit/", views.number_edit, name="number_edit"),
    path("numbers/<id:pk>/delete/", views.number_delete, name="number_delete"),
    path("numbers/<id:pk>/link/", views.number_link, name="number_link"),
]
