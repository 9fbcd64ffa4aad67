from django.urls import path

from voiceapps.api import views

urlpatterns = [
    path("accounts", views.AccountListCreateApi.as_view(), name="api_accounts"),
    path("accounts/<id:pk>", views.AccountDetailApi.as_view(), name="api_account"),
    path("accounts/<id:pk>/test", views.AccountTestApi.as_view(), name="api_account_test"),
    path("accounts/<id:pk>/regenerate-token", views.AccountRegenerateTokenApi.as_view(),
         name="api_account_regenerate_token"),
    path("accounts/<id:pk>/retire", views.AccountRetireApi.as_view(), name="api_account_retire"),
    path("accounts/<id:pk>/reactivate", views.AccountReactivateApi.as_view(),
         name="api_account_reactivate"),
    path("accounts/<id:pk>/remote-applications", views.AccountRemoteApplicationsApi.as_view(),
         name="api_account_remote_applications"),
    path("applications", views.ApplicationListCreateApi.as_view(), name="api_applications"),
    path("applications/import", views.ApplicationImportApi.as_view(),
         name="api_application_import"),
    path("applications/<id:pk>", views.ApplicationDetailApi.as_view(), name="api_application"),
    path("applications/<id:pk>/push", views.ApplicationPushApi.as_view(),
         name="api_application_push"),
    path("applications/<id:pk>/keypair", views.ApplicationKeyPairApi.as_view(),
         name="api_application_keypair"),
    path("numbers", views.NumberListCreateApi.as_view(), name="api_numbers"),
    path("numbers/import", views.NumberImportApi.as_view(), name="api_number_import"),
    path("numbers/<id:pk>", views.NumberDetailApi.as_view(), name="api_number"),
    path("numbers/<id:pk>/link", views.NumberLinkApi.as_view(), name="api_number_link"),
]
