from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from portal import bench_views, health, views
from portal.forms import SignInForm

handler404 = "portal.views.page_not_found"
handler500 = "portal.views.server_error"

urlpatterns = [
    path("", include("calls.urls")),
    path("", include("voiceapps.urls")),
    path("", include("campaigns.urls")),
    path("setup/<str:token>/", views.setup, name="setup"),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="portal/login.html",
                                     authentication_form=SignInForm),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("profile/", views.profile, name="profile"),
    path("profile/password/", views.password_change, name="password_change"),
    path("profile/tokens/<id:pk>/revoke/", views.token_revoke, name="token_revoke"),
    path("users/", views.user_list, name="user_list"),
    path("users/new/", views.user_create, name="user_create"),
    path("users/<id:pk>/", views.user_edit, name="user_edit"),
    path("audit/", views.audit_list, name="audit_list"),
    path("healthz", health.healthz, name="healthz"),
    path("settings/", views.settings_page, name="settings"),
    path("api/v1/", include("portal.api.urls")),
    path("sandbox/", include("voiceapps.sandbox.urls")),
    path("django-admin/", admin.site.urls),
]

if settings.BENCH_BASELINE_VIEW:
    urlpatterns.append(path("bench/bare", bench_views.bare, name="bench_bare"))
