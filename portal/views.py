from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.contrib.auth.views import LoginView
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from portal import lockout, services, sessions, twofactor
from portal.api.exceptions import error_body, too_many_parts
from portal.filters import AuditEntryFilter, UserFilter
from portal.forms import (
    ApiTokenForm,
    FirstAdminForm,
    ResetRequestForm,
    RetentionPolicyForm,
    SecurityPolicyForm,
    SignInForm,
    UserCreateForm,
    UserUpdateForm,
)
from portal.models import AuditEntry, RetentionPolicy, Role, SecurityPolicy, TokenScope, User
from portal.oidc import oidc_enabled, provider_host, sso_setup
from portal.params import filtered_page
from portal.roles import role_required
from portal.selectors import audit_object_links, users_with_sign_in_state
from portal.services import Actor


class SignInView(LoginView):
    template_name = "portal/login.html"
    authentication_form = SignInForm

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "sso": oidc_enabled(),
                "password_sign_in": settings.PASSWORD_SIGN_IN or "local" in self.request.GET
                or self.request.method == "POST",
                # Only before the first administrator exists: afterwards the setup link is
                # dead and people are added by an administrator.
                "setup_open": services.setup_is_open()}


def signed_out(request: HttpRequest) -> HttpResponse:
    """Where Sign out lands, through the identity provider's sign-out for a single sign-on
    session. `?provider=open`: the provider's session could not be ended (it offers no
    end_session_endpoint, or did not answer), so the page says how to end it; a fixed sentence,
    whoever wrote the address."""
    if request.user.is_authenticated:
        return redirect("dashboard")
    open_at = oidc_enabled() and request.GET.get("provider") == "open"
    return render(request, "portal/signed_out.html", {
        "sso": oidc_enabled(), "password_sign_in": settings.PASSWORD_SIGN_IN,
        "provider_open": provider_host() if open_at else ""})


class PasswordResetView(auth_views.PasswordResetView):
    """Sends a reset link to the address typed, if a user with a password has it; the page
    says the same either way, so it tells nobody which addresses have accounts. Too many
    requests for one address or from one client are refused, with no e-mail sent."""

    form_class = ResetRequestForm
    template_name = "portal/password_reset.html"
    email_template_name = "portal/password_reset_email.txt"
    subject_template_name = "portal/password_reset_subject.txt"

    @property
    def extra_email_context(self) -> dict[str, str]:
        # The link is built from PUBLIC_BASE_URL, never the request's Host header: a forged
        # one would have the e-mail send its token to the forger's site.
        return {"base_url": settings.PUBLIC_BASE_URL}

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "request": self.request}

    def form_valid(self, form: ResetRequestForm) -> HttpResponse:
        services.password_reset_audit(actor=Actor.from_request(self.request),
                                      action="user.password_reset_request",
                                      email=form.cleaned_data["email"])
        return super().form_valid(form)


class ResetPasswordForm(SetPasswordForm):
    request: HttpRequest

    def save(self, commit: bool = True) -> User:
        services.user_password_change(actor=Actor(ip_address=services.client_ip(self.request)),
                                      user=self.user, password=self.cleaned_data["new_password1"],
                                      action="user.password_reset")
        return self.user


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "portal/password_reset_confirm.html"
    form_class = ResetPasswordForm

    def get_form(self, form_class: type | None = None) -> ResetPasswordForm:
        form = super().get_form(form_class)
        form.request = self.request
        return form


def setup(request: HttpRequest, token: str) -> HttpResponse:
    if not services.setup_is_open():
        # Not DEBUG's list of URLs: a newcomer opening the printed link again needs the way in.
        return render(request, "portal/setup_done.html", status=404)
    if not services.setup_token_is_valid(token):
        return render(request, "portal/setup_invalid.html", status=403)
    form = FirstAdminForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.saved(lambda: services.setup_create_admin(
            username=form.cleaned_data["username"], email=form.cleaned_data["email"],
            password=form.cleaned_data["password"]))
        if user is not None:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, "Welcome to Callboard. You are its first administrator.")
            return redirect("dashboard")
    return render(request, "portal/setup.html", {"form": form})


@role_required(Role.ADMIN)
def user_list(request: HttpRequest) -> HttpResponse:
    filters = UserFilter(request.GET, queryset=User.objects.prefetch_related("groups")
                         .order_by("username"))
    context = filtered_page(request, filters, per_page=50)
    users_with_sign_in_state(context["page"])
    return render(request, "portal/user_list.html", context)


@role_required(Role.ADMIN)
def user_create(request: HttpRequest) -> HttpResponse:
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.saved(lambda: services.user_create(
            actor=Actor.from_request(request), username=form.cleaned_data["username"],
            email=form.cleaned_data["email"], role=Role(form.cleaned_data["role"]),
            password=form.cleaned_data["password"]))
        if user is not None:
            messages.success(request, f"User {user.username} created.")
            return redirect("user_list")
    return render(request, "portal/user_form.html", {"form": form})


@role_required(Role.ADMIN)
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    [user] = users_with_sign_in_state([get_object_or_404(User, pk=pk)])
    initial = {"role": user.assigned_role or Role.VIEWER, "is_active": user.is_active}
    role_from_provider = services.role_follows_provider(user)
    form = UserUpdateForm(request.POST or None, initial=initial,
                          role_from_provider=role_from_provider)
    if request.method == "POST" and form.is_valid():
        was = (user.assigned_role, user.is_active)
        updated = form.saved(lambda: services.user_update(
            actor=Actor.from_request(request), user=user,
            role=None if role_from_provider else Role(form.cleaned_data["role"]),
            is_active=form.cleaned_data["is_active"]))
        if updated is not None:
            messages.success(request, _user_update_result(updated, *was))
            return redirect("user_list")
    return render(request, "portal/user_edit.html", {
        "form": form, "edited": user, "locked_until": user.locked_until,
        "reset_paused": lockout.password_reset_paused(user.email), "two_factor": user.two_factor,
        "role_claim": settings.OIDC_ROLE_CLAIM if role_from_provider else "",
        "sso": oidc_enabled(), "unlink_refusal": services.sso_unlink_refusal(user),
        "password_sign_in": settings.PASSWORD_SIGN_IN})


def _user_update_result(user: User, role: Role | None, was_active: bool) -> str:
    """What an admin's save did, in words: "updated" alone leaves them to guess whether a
    deactivated user can still sign in."""
    done, now = [], user.assigned_role
    if now != role:
        done.append(f"is now {now.label if now else 'without a role'}")
    if user.is_active != was_active:
        done.append("is active again and can sign in" if user.is_active else
                    "is deactivated: they can no longer sign in or use their API tokens")
    if not done:
        return f"Nothing changed for {user.username}."
    return f"{user.username} {' and '.join(done)}."


@login_required
@never_cache  # a new API token is shown on the answer to its POST
def profile(request: HttpRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST or None, user=request.user)
    new_token = None
    if form.made_before(request):
        messages.info(request, "This form was sent already and made the token listed below, "
                               "shown then, once: if you did not copy it, revoke it and create "
                               "another.")
        return redirect("profile")
    if request.method == "POST" and form.is_valid():
        values = form.cleaned_data
        created = form.saved(lambda: services.api_token_create(
            actor=Actor.from_request(request), user=request.user, name=values["name"],
            scope=TokenScope(values["scope"]), expires_at=values["expires_on"],
            accounts=list(values["accounts"]) or None))
        if created is not None:
            new_token = created[1]
            form.remember(request, reverse("profile"))
            form = ApiTokenForm(user=request.user)
    tokens = request.user.api_tokens.prefetch_related("accounts").order_by(
        "revoked_at", "-created_at")
    return render(request, "portal/profile.html", {
        "form": form, "tokens": tokens, "new_token": new_token,
        "two_factor_on": twofactor.two_factor_enrolled(request.user),
        "sessions": sessions.session_list(request.user),
        "this_session": request.session.session_key,
        "idle_minutes": settings.SESSION_IDLE_TIMEOUT_SECONDS // 60,
        "lifetime_hours": settings.SESSION_ABSOLUTE_LIFETIME_SECONDS // 3600,
        "sso": oidc_enabled(), "provider_host": provider_host(),
        "password_sign_in": settings.PASSWORD_SIGN_IN,
        "role_claim": settings.OIDC_ROLE_CLAIM if settings.OIDC_ROLE_MAP else "",
        "role_follows_provider": services.role_follows_provider(request.user),
    })


@login_required
@require_POST
def session_sign_out(request: HttpRequest, pk: int) -> HttpResponse:
    session = get_object_or_404(sessions.session_list(request.user), pk=pk)
    sessions.session_sign_out(actor=Actor.from_request(request), session=session)
    if session.session_key == request.session.session_key:
        logout(request)  # gone from the store: start a fresh one
        messages.success(request, "Signed out of this session.")
        return redirect("login")
    messages.success(request, f"Signed out {session.browser} from "
                              f"{session.ip_address or 'an unknown address'}.")
    return redirect("profile")


@login_required
@require_POST
def sign_out_everywhere(request: HttpRequest) -> HttpResponse:
    count = sessions.sessions_sign_out_everywhere(actor=Actor.from_request(request),
                                                  user=request.user)
    logout(request)  # this request's session is gone from the store: start a fresh one
    messages.success(request, f"Signed out of {count} session{'s' if count != 1 else ''}, "
                              "this one too.")
    return redirect("login")


@login_required
def password_change(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.user_password_change(actor=Actor.from_request(request), user=request.user,
                                      password=form.cleaned_data["new_password1"])
        update_session_auth_hash(request, request.user)  # this session stays signed in
        messages.success(request, "Password changed. Other sessions are signed out.")
        return redirect("profile")
    return render(request, "portal/password_change.html", {"form": form})


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(request.user.api_tokens, pk=pk)
    services.api_token_revoke(actor=Actor.from_request(request), token=token)
    messages.success(request, f"Token “{token.name}” revoked. Requests using it now get a 401.")
    return redirect("profile")


@role_required(Role.ADMIN)
def audit_list(request: HttpRequest) -> HttpResponse:
    filters = AuditEntryFilter(request.GET, queryset=AuditEntry.objects.select_related("actor"))
    context = filtered_page(request, filters, per_page=50)
    page = context["page"]
    page.object_list = list(page.object_list)  # read once: the rows and their links
    links = audit_object_links(page.object_list)
    for entry in page.object_list:
        entry.object_url = links.get(entry.pk)
    return render(request, "portal/audit_list.html", context)


@role_required(Role.ADMIN)
def settings_page(request: HttpRequest) -> HttpResponse:
    policy = RetentionPolicy.load()
    form = RetentionPolicyForm(request.POST or None, instance=RetentionPolicy.load())
    if request.method == "POST" and form.is_valid():
        saved = form.saved(lambda: services.retention_policy_update(
            actor=Actor.from_request(request),
            webhook_payload_days=form.cleaned_data["webhook_payload_days"],
            number_masking_days=form.cleaned_data["number_masking_days"]))
        if saved is not None:
            messages.success(request, "Retention settings saved; the next hourly run applies "
                                      "them.")
            return redirect("settings")
    return render(request, "portal/settings.html", {
        "form": form, "policy": policy, "sso": sso_setup(request),
        "security_form": SecurityPolicyForm(instance=SecurityPolicy.load())})


@role_required(Role.ADMIN)
@require_POST
def security_policy_update(request: HttpRequest) -> HttpResponse:
    form = SecurityPolicyForm(request.POST, instance=SecurityPolicy.load())
    if form.is_valid():
        services.security_policy_update(actor=Actor.from_request(request),
                                        two_factor_roles=form.roles())
        messages.success(request, "Sign-in settings saved. Users whose role now needs two-factor "
                                  "sign-in set it up at their next request.")
    return redirect("settings")


@role_required(Role.ADMIN)
@require_POST
def user_unlock(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(User, pk=pk)
    lockout.login_unlock(actor=Actor.from_request(request), username=user.username)
    messages.success(request, f"{user.username} can sign in and ask for a password reset link "
                              "again.")
    return redirect("user_edit", pk=user.pk)


@role_required(Role.ADMIN)
@require_POST
def user_sso_unlink(request: HttpRequest, pk: int) -> HttpResponse:
    if not oidc_enabled():
        raise Http404("Single sign-on is not set up.")
    user = get_object_or_404(User, pk=pk)
    try:
        services.user_sso_unlink(actor=Actor.from_request(request), user=user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{user.username} is unlinked from single sign-on: they sign "
                                  "in with their password, and keep their role.")
    return redirect("user_edit", pk=user.pk)


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _wants_json(request):
        return api_not_found(request)
    return render(request, "404.html", status=404)


@csrf_exempt  # it changes nothing, whatever the method: a POST is told 404, not "CSRF"
def api_not_found(request: HttpRequest) -> JsonResponse:
    """An API address no route matches, in the API's error shape."""
    return JsonResponse(error_body("not_found", "There is nothing at this address."), status=404)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    # What Django refuses before any API view runs (too many query parameters, read by a
    # middleware) is answered in the API's one error shape too.
    if _wants_json(request):
        body = error_body("parse_error", too_many_parts(exception) or "The request is malformed.")
        return JsonResponse(body, status=400)
    return defaults.bad_request(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _wants_json(request):
        body = error_body("server_error", "Something went wrong on our side; it has been logged.")
        return JsonResponse(body, status=500)
    return render(request, "500.html", status=500)
