from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path

from portal import bench_views, health, oidc, twofactor_views, views

handler400 = "portal.views.bad_request"
handler404 = "portal.views.page_not_found"
handler500 = "portal.views.server_error"

urlpatterns = [
    path("", include("calls.urls")),
    path("", include("voiceapps.urls")),
    path("", include("campaigns.urls")),
    path("", include("recordings.urls")),
    path("", include("alerts.urls")),
    path("", include("metrics.urls")),
    path("", include("forwarding.urls")),
    path("setup/<str:token>/", views.setup, name="setup"),
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", oidc.LogoutView.as_view(), name="logout"),
    path("signed-out/", views.signed_out, name="signed_out"),
    path("password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", auth_views.PasswordResetDoneView.as_view(
        template_name="portal/password_reset_sent.html"), name="password_reset_done"),
    path("password-reset/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("password-reset/done/", auth_views.PasswordResetCompleteView.as_view(
        template_name="portal/password_reset_complete.html"), name="password_reset_complete"),
    path("login/sso/", oidc.AuthenticateView.as_view(), name="oidc_login"),
    path("login/sso/callback/", oidc.CallbackView.as_view(), name="oidc_callback"),
    path("profile/", views.profile, name="profile"),
    path("profile/password/", views.password_change, name="password_change"),
    path("profile/tokens/<id:pk>/revoke/", views.token_revoke, name="token_revoke"),
    path("login/two-factor/", twofactor_views.two_factor_verify, name="two_factor_verify"),
    path("profile/two-factor/", twofactor_views.two_factor_setup, name="two_factor_setup"),
    path("profile/two-factor/qr.svg", twofactor_views.two_factor_qr, name="two_factor_qr"),
    path("users/<id:pk>/unlock/", views.user_unlock, name="user_unlock"),
    path("users/<id:pk>/two-factor/reset/", twofactor_views.user_two_factor_reset,
         name="user_two_factor_reset"),
    path("settings/security/", views.security_policy_update, name="security_policy"),
    path("profile/sign-out-everywhere/", views.sign_out_everywhere, name="sign_out_everywhere"),
    path("profile/sessions/<id:pk>/sign-out/", views.session_sign_out, name="session_sign_out"),
    path("users/", views.user_list, name="user_list"),
    path("users/new/", views.user_create, name="user_create"),
    path("users/<id:pk>/", views.user_edit, name="user_edit"),
    path("audit/", views.audit_list, name="audit_list"),
    path("healthz", health.healthz, name="healthz"),
    path("settings/", views.settings_page, name="settings"),
    path("api/v1/", include("portal.api.urls")),
    # Last of the API: under DEBUG (`make run`) Django answers an unmatched path with its HTML
    # debug page, not handler404, so the API's JSON 404 is a route of its own.
    re_path(r"^api/", views.api_not_found, name="api_not_found"),
    path("sandbox/", include("voiceapps.sandbox.urls")),
    path("django-admin/", admin.site.urls),
]

if settings.BENCH_BASELINE_VIEW:
    urlpatterns += [
        path("bench/bare", bench_views.bare, name="bench_bare"),
        path("bench/durable", bench_views.durable, name="bench_durable"),
    ]
