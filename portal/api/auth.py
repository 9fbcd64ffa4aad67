from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from portal.models import ApiToken, User
from portal.services import TokenRefused, api_token_authenticate, client_ip

# Every response to a token-authenticated request says when the token expires; within
# API_TOKEN_WARN_DAYS of it, a Warning header says so in words (portal.middleware sets both).
TOKEN_EXPIRES_HEADER = "Callboard-Token-Expires"


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer cb_…` with a personal API token.

    The request acts with the lower of the token's scope and its owner's role: the user is
    limited here, so every role check (permissions, serializers) sees the token's scope.
    """

    keyword = "Bearer"

    def authenticate(self, request: Any) -> tuple[User, ApiToken] | None:
        header = authentication.get_authorization_header(request).decode(errors="replace")
        scheme, _, raw = header.partition(" ")
        if scheme.lower() not in {"bearer", "token"} or not raw:
            return None
        try:
            token = api_token_authenticate(raw.strip(), ip=client_ip(request))
        except TokenRefused as refused:
            raise exceptions.AuthenticationFailed(str(refused)) from None
        token.user.limit_role(token.scope_role)
        # The Django request outlives DRF's wrapper: the middleware reads it from there.
        request._request.api_token = token
        return token.user, token

    def authenticate_header(self, request: Any) -> str:
        return self.keyword


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "portal.api.auth.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "cb_<prefix>_<secret>"}
