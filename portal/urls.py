from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path

from portal import bench_views, health, oidc, twofactor_views, views
from portal.routing import view_path

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
    view_path("setup/<str:token>/", views.setup),
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", oidc.LogoutView.as_view(), name="logout"),
    view_path("signed-out/", views.signed_out),
    path("password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", auth_views.PasswordResetDoneView.as_view(
        template_name="portal/password_reset_sent.html"), name="password_reset_done"),
    path("password-reset/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("password-reset/done/", auth_views.PasswordResetCompleteView.as_view(
        template_name="portal/password_reset_complete.html"), name="password_reset_complete"),
    path("login/sso/", oidc.AuthenticateView.as_view(), name="oidc_login"),
    path("login/sso/callback/", oidc.CallbackView.as_view(), name="oidc_callback"),
    view_path("profile/", views.profile),
    view_path("profile/password/", views.password_change),
    path("profile/sso/link/", oidc.link_start, name="sso_link"),
    view_path("profile/tokens/<id:pk>/revoke/", views.token_revoke),
    view_path("login/two-factor/", twofactor_views.two_factor_verify),
    view_path("profile/two-factor/", twofactor_views.two_factor_setup),
    view_path("profile/two-factor/qr.svg", twofactor_views.two_factor_qr),
    view_path("users/<id:pk>/unlock/", views.user_unlock),
    view_path("users/<id:pk>/sso/unlink/", views.user_sso_unlink),
    view_path("users/<id:pk>/two-factor/reset/", twofactor_views.user_two_factor_reset),
    path("settings/security/", views.security_policy_update, name="security_policy"),
    view_path("profile/sign-out-everywhere/", views.sign_out_everywhere),
    view_path("profile/sessions/<id:pk>/sign-out/", views.session_sign_out),
    view_path("users/", views.user_list),
    view_path("users/new/", views.user_create),
    view_path("users/<id:pk>/", views.user_edit),
    view_path("audit/", views.audit_list),
    view_path("healthz", health.healthz),
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
