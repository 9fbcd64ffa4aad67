from django.http import HttpRequest

from portal.models import Role


def roles(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    role = user.role if user is not None and user.is_authenticated else None
    return {
        "current_role": role,
        "is_operator": role is not None and role.rank >= Role.OPERATOR.rank,
        "is_admin": role == Role.ADMIN,
    }
