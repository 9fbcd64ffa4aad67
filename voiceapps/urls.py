from django.urls import include, path

from voiceapps import views

urlpatterns = [
    path("nccos/", include("voiceapps.ncco.urls")),
    path("accounts/", views.account_list, name="account_list"),
    path("accounts/new/", views.account_create, name="account_create"),
    path("accounts/<int:pk>/", views.account_detail, name="account_detail"),
    path("accounts/<int:pk>/edit/", views.account_edit, name="account_edit"),
    path("accounts/<int:pk>/delete/", views.account_delete, name="account_delete"),
    path("accounts/<int:pk>/test/", views.account_test, name="account_test"),
    path("accounts/<int:pk>/regenerate-token/", views.account_regenerate_token,
         name="account_regenerate_token"),
    path("applications/", views.application_list, name="application_list"),
    path("applications/new/", views.application_create, name="application_create"),
    path("applications/import/", views.application_import, name="application_import"),
    path("applications/<int:pk>/", views.application_detail, name="application_detail"),
    path("applications/<int:pk>/edit/", views.application_edit, name="application_edit"),
    path("applications/<int:pk>/delete/", views.application_delete, name="application_delete"),
    path("applications/<int:pk>/push/", views.application_push, name="application_push"),
    path("applications/<int:pk>/keypair/", views.application_keypair,
         name="application_keypair"),
    path("applications/<int:pk>/private-key/", views.application_private_key,
         name="application_private_key"),
    path("numbers/", views.number_list, name="number_list"),
    path("numbers/new/", views.number_create, name="number_create"),
    path("numbers/import/", views.number_import, name="number_import"),
    path("numbers/<int:pk>/", views.number_detail, name="number_detail"),
    path("numbers/<int:pk>/edit/", views.number_edit, name="number_edit"),
    path("numbers/<int:pk>/delete/", views.number_delete, name="number_delete"),
    path("numbers/<int:pk>/link/", views.number_link, name="number_link"),
]
