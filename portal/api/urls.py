from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerSplitView

from portal.api import views

urlpatterns = [
    path("schema/", views.SchemaApi.as_view(), name="api_schema"),
    # The split view serves its start-up script as a file: no inline script under our CSP.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api_schema"), name="api_docs"),
    path("me", views.MeApi.as_view(), name="api_me"),
    path("tokens", views.TokenListCreateApi.as_view(), name="api_tokens"),
    path("tokens/<id:pk>", views.TokenDetailApi.as_view(), name="api_token"),
    path("users", views.UserListCreateApi.as_view(), name="api_users"),
    path("users/<id:pk>", views.UserDetailApi.as_view(), name="api_user"),
    path("users/<id:pk>/unlock", views.UserUnlockApi.as_view(), name="api_user_unlock"),
    path("users/<id:pk>/two-factor/reset", views.UserTwoFactorResetApi.as_view(),
         name="api_user_two_factor_reset"),
    path("audit", views.AuditListApi.as_view(), name="api_audit"),
    path("settings/retention", views.RetentionPolicyApi.as_view(), name="api_retention"),
    path("settings/security", views.SecurityPolicyApi.as_view(), name="api_security_policy"),
    path("", include("voiceapps.ncco.api.urls")),
    path("", include("voiceapps.api.urls")),
    path("", include("calls.api.urls")),
    path("", include("campaigns.api.urls")),
    path("", include("recordings.api.urls")),
    path("", include("alerts.api.urls")),
    path("", include("forwarding.api.urls")),
]
