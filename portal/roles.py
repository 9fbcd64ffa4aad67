"""Roles and the checks built on them, for pages and the API alike.

The groups are created by a migration; their model permissions (which the Django admin
uses) are re-synced after every migrate, because each app adds models over time.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS, BasePermission

from portal.models import ApiToken, Role

# Models an operator may change; everything else is read-only to them.
OPERATOR_MODELS = {
    "voiceapps.application",
    "voiceapps.number",
    "voiceapps.nccodocument",
    "voiceapps.nccoversion",
    "voiceapps.callprofile",
    "calls.call",
}


def role_required(minimum: Role) -> Callable:
    """Page decorator: log in first, then a 403 page for a role below `minimum`."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.has_role(minimum):
                raise PermissionDenied(f"This page needs the {minimum.label} role.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def token_account_ids(request: Any) -> set[int] | None:
    """The accounts the request's API token is limited to; None if it is not limited."""
    token = getattr(request, "auth", None)
    if not isinstance(token, ApiToken) or not token.limit_to_accounts:
        return None
    if not hasattr(token, "_account_ids"):
        token._account_ids = set(token.accounts.values_list("pk", flat=True))
    return token._account_ids


def limit_to_token_accounts(request: Any, queryset: QuerySet, field: str = "account") -> QuerySet:
    """Only the rows of the accounts the request's token is limited to (all if it is not)."""
    ids = token_account_ids(request)
    return queryset if ids is None else queryset.filter(**{f"{field}__in": ids})


def check_token_account(request: Any, account_id: int | None) -> None:
    """Refuse (403) an action on an account the request's token is not limited to."""
    ids = token_account_ids(request)
    if ids is not None and account_id not in ids:
        raise exceptions.PermissionDenied(
            "This API token is limited to other provider accounts than this one.")


class _RolePermission(BasePermission):
    """A role per method, lowered by the API token's scope (portal.api.auth limits the user).

    A token limited to some accounts may use only views that declare `account_scoped = True`:
    those limit what they read and check what they change with the helpers above. Any other
    view refuses it, so a new endpoint is closed to such tokens until it is written for them.
    """

    read_role: Role = Role.VIEWER
    write_role: Role = Role.VIEWER

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        needed = self.read_role if request.method in SAFE_METHODS else self.write_role
        if not user.has_role(needed):
            token = request.auth if isinstance(request.auth, ApiToken) else None
            self.message = f"This needs the {needed.label} role." + (
                f" This API token has the {token.get_scope_display()} scope."
                if token is not None else "")
            return False
        if token_account_ids(request) is not None and not getattr(view, "account_scoped", False):
            self.message = ("This API token is limited to some provider accounts; it can use "
                            "only the calls API and /api/v1/me.")
            return False
        return True


class AnyRole(_RolePermission):
    """Self-service endpoints (one's own tokens and profile): every role reads and writes."""


class ViewerReadsOperatorWrites(_RolePermission):
    """The default for every API view: viewers read, operators and admins change."""

    write_role = Role.OPERATOR


class OperatorOnly(_RolePermission):
    read_role = Role.OPERATOR
    write_role = Role.OPERATOR


class ViewerReadsAdminWrites(_RolePermission):
    write_role = Role.ADMIN


class AdminOnly(_RolePermission):
    read_role = Role.ADMIN
    write_role = Role.ADMIN


def sync_role_permissions(sender: Any = None, **kwargs: Any) -> None:
    from django.contrib.auth.models import Group, Permission

    groups = {g.name: g for g in Group.objects.filter(name__in=Role.labels)}
    if len(groups) != len(Role):
        return  # the roles migration has not run yet
    wanted: dict[Role, list[Permission]] = {role: [] for role in Role}
    for perm in Permission.objects.select_related("content_type"):
        model = f"{perm.content_type.app_label}.{perm.content_type.model}"
        if perm.content_type.app_label in {"contenttypes", "sessions", "admin"}:
            continue
        wanted[Role.ADMIN].append(perm)
        if perm.content_type.app_label not in {"voiceapps", "calls"}:
            continue  # users, tokens and the audit log are for admins only
        if perm.codename.startswith("view_"):
            wanted[Role.OPERATOR].append(perm)
            wanted[Role.VIEWER].append(perm)
        elif model in OPERATOR_MODELS:
            wanted[Role.OPERATOR].append(perm)
    for role, perms in wanted.items():
        groups[role.label].permissions.set(perms)
