"""Roles and the checks built on them, for pages and the API alike.

The groups are created by a migration; their model permissions (which the Django admin
uses) are re-synced after every migrate, because each app adds models over time.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from rest_framework.permissions import SAFE_METHODS, BasePermission

from portal.models import Role

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


class _RolePermission(BasePermission):
    read_role: Role = Role.VIEWER
    write_role: Role = Role.VIEWER

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        needed = self.read_role if request.method in SAFE_METHODS else self.write_role
        if not user.has_role(needed):
            self.message = f"This needs the {needed.label} role."
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
