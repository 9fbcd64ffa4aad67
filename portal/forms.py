import uuid
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any, TypeVar

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm, UsernameField
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import HttpRequest
from django.utils import timezone

from portal import lockout
from portal.models import ApiToken, RetentionPolicy, Role, SecurityPolicy, TokenScope, User
from portal.params import ISO_DATE_ATTRS, ModelIdsField
from portal.services import client_ip
from portal.twofactor import two_factor_required

T = TypeVar("T")

# Errors of the input as a whole: Django's key, and the API's name that services also use.
_WHOLE_REQUEST = {NON_FIELD_ERRORS, "non_field_errors"}


class ServiceErrorsMixin:
    """A service's refusal shown on the form that sent its input, as the API shows it in `fields`.

    A ValidationError with a dict puts each message on the field its key names (`field_for`
    maps a key to a field; a form whose fields differ from the service's keys overrides it).
    A key no field holds stays in the message above the form, so the sentence still names
    what is wrong. Any other refusal (a ValidationError without fields, a provider's error,
    a conflict) is one sentence above the form: its message, which never carries a secret.
    """

    fields: dict[str, forms.Field]
    add_error: Any

    def field_for(self, key: str) -> str | None:
        return key if key in self.fields else None

    def saved(self, save: Callable[[], T]) -> T | None:
        """What `save()` (a service run with this form's data) returns; None when it refuses
        with a ValidationError, which then shows on this form."""
        try:
            return save()
        except ValidationError as error:
            self.add_service_errors(error)
            return None

    def add_service_errors(self, error: Exception) -> None:
        if not isinstance(error, ValidationError):
            self.add_error(None, str(error))
            return
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for key, messages in error.message_dict.items():
            field = self.field_for(key)
            for message in messages:
                named = field is not None or key in _WHOLE_REQUEST
                self.add_error(field, message if named else f"{key}: {message}")


class SentOnceMixin:
    """A form whose sending makes something shown once (a secret, a token). Sent again (a
    reload of the page its POST answered, which browsers offer to resend, or a second click)
    it must not make a second one: `made_before` names what the first sending made.

    Each rendered form carries a random `sent_once` value; the session keeps the last few
    values sent with the address of what each made (an address, never the secret).
    """

    SESSION_KEY = "forms_sent"
    KEEP = 20
    fields: dict[str, forms.Field]
    data: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sent_once"] = forms.CharField(
            widget=forms.HiddenInput, required=False, max_length=64, initial=uuid.uuid4().hex
        )

    def made_before(self, request: HttpRequest) -> str | None:
        """The address of what this form made when it was first sent in this session."""
        sent = self.data.get("sent_once", "")
        return request.session.get(self.SESSION_KEY, {}).get(sent) if sent else None

    def remember(self, request: HttpRequest, address: str) -> None:
        sent = self.data.get("sent_once", "")
        if not sent:
            return
        made = request.session.get(self.SESSION_KEY, {})
        made[sent] = address
        request.session[self.SESSION_KEY] = dict(list(made.items())[-self.KEEP:])


class LockoutMixin:
    """Sign-in forms count every attempt before checking its password, and refuse locked ones."""

    request: Any
    cleaned_data: dict[str, Any]

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        if not (username and self.cleaned_data.get("password")):
            return super().clean()  # a missing field is named; no password was tried
        ip = client_ip(self.request) if self.request else None
        lock = lockout.login_attempt_begin(username=username, ip=ip)
        if lock:
            raise forms.ValidationError(lock.message, code="locked")
        try:
            data = super().clean()
        except forms.ValidationError:
            lock = lockout.login_failure_record(username=username, ip=ip)
            if lock:
                raise forms.ValidationError(lock.message, code="locked") from None
            raise
        lockout.login_success_record(
            username=username, ip=ip,
            second_factor_pending=two_factor_required(self.get_user()))
        return data


class PasswordSignInPolicyMixin:
    """With PASSWORD_SIGN_IN off, only local admins (break-glass) sign in with a password."""

    def confirm_login_allowed(self, user: User) -> None:
        super().confirm_login_allowed(user)
        break_glass = user.oidc_subject is None and user.has_role(Role.ADMIN)
        if not settings.PASSWORD_SIGN_IN and not break_glass:
            raise ValidationError("Sign in with single sign-on; password sign-in is off.",
                                  code="password_sign_in_off")


class SignInForm(LockoutMixin, PasswordSignInPolicyMixin, AuthenticationForm):
    pass


class AdminSignInForm(LockoutMixin, PasswordSignInPolicyMixin, AdminAuthenticationForm):
    pass


class ResetRequestForm(PasswordResetForm):
    """A request for a reset link, refused once the address typed or the client asked too
    often (portal/lockout.py), whether or not a user has the address."""

    def __init__(self, *args: Any, request: HttpRequest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request = request

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        email = data.get("email")
        if email:
            lock = lockout.password_reset_begin(email=email, ip=client_ip(self.request))
            if lock:
                raise forms.ValidationError(lock.message, code="throttled")
        return data


class FirstAdminForm(ServiceErrorsMixin, forms.Form):
    username = UsernameField(max_length=150, help_text="You will sign in with this name.")
    email = forms.EmailField(required=False)
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password_again = forms.CharField(
        label="Password (again)", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("password") and data.get("password") != data.get("password_again"):
            self.add_error("password_again", "The two passwords differ; type the same one twice.")
        elif data.get("password"):
            try:
                password_validation.validate_password(
                    data["password"], User(username=data.get("username", ""))
                )
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return data


class UserCreateForm(FirstAdminForm):
    role = forms.ChoiceField(choices=Role.choices, initial=Role.OPERATOR)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # An admin fills this in for someone else.
        self.fields["username"].help_text = "They will sign in with this name."
        self.fields["password"].help_text = (
            "Give it to them in person or by another channel; they can change it on their "
            "profile page.")

    def clean_username(self) -> str:
        username = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("A user with this name exists already.")
        return username


class UserUpdateForm(ServiceErrorsMixin, forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
    is_active = forms.BooleanField(
        required=False, label="Active", help_text="Inactive users cannot sign in or use tokens."
    )

    def __init__(self, *args: Any, role_from_provider: bool = False, **kwargs: Any) -> None:
        # Single sign-on sets it at every sign-in (services.role_follows_provider): shown, and
        # a role sent anyway is ignored, as for any disabled field.
        super().__init__(*args, **kwargs)
        if role_from_provider:
            self.fields["role"].disabled = True
            self.fields["role"].help_text = "Set by single sign-on from their groups."


class ApiTokenForm(SentOnceMixin, ServiceErrorsMixin, forms.Form):
    name = forms.CharField(
        max_length=100, help_text="Where the token is used, e.g. “CRM dialer”.",
    )
    scope = forms.ChoiceField(
        choices=TokenScope.choices,
        help_text="Read: look only. Operate: place and control calls, edit flows. Admin: "
                  "everything your role allows.")
    expires_on = forms.DateField(
        label="Expires on", widget=forms.DateInput(format="%Y-%m-%d", attrs=ISO_DATE_ATTRS),
        help_text="The token stops working at the start of this day (UTC).")
    accounts = ModelIdsField(
        queryset=ApiToken.accounts.field.related_model.objects.order_by("name"), required=False,
        help_text="Only these accounts' calls; leave empty for every account. A limited token "
                  "can use only the calls API.")

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        role = user.role or Role.VIEWER
        self.fields["scope"].choices = [(s.value, s.label) for s in TokenScope
                                        if s.role.rank <= role.rank]
        self.fields["scope"].initial = TokenScope.for_role(role)
        self.fields["expires_on"].initial = (
            timezone.now() + timedelta(days=settings.API_TOKEN_DAYS)).date()

    def field_for(self, key: str) -> str | None:
        return "expires_on" if key == "expires_at" else super().field_for(key)

    def clean_expires_on(self) -> datetime:
        day = self.cleaned_data["expires_on"]
        return datetime.combine(day, time.min, tzinfo=UTC)


class SecurityPolicyForm(ServiceErrorsMixin, forms.ModelForm):
    class Meta:
        model = SecurityPolicy
        fields = ["two_factor_admin", "two_factor_operator", "two_factor_viewer"]

    def roles(self) -> set[Role]:
        return {role for role in Role if self.cleaned_data[f"two_factor_{role.value}"]}

    def unticked_selector(self) -> str:
        """Matches a box that is on now once it is unticked: the page asks before that save,
        which lets a role sign in with a password alone."""
        return ", ".join(
            f"#{self[name].id_for_label}:not(:checked)"
            for name in self.Meta.fields if getattr(self.instance, name)
        )


class RetentionPolicyForm(ServiceErrorsMixin, forms.ModelForm):
    class Meta:
        model = RetentionPolicy
        fields = ["webhook_payload_days", "number_masking_days"]
