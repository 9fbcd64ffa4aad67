"""The routes of the URL configuration, and real paths for them, for the security tests."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.views import APIView

from portal.models import User, UserSession
from recordings.models import Recording
from tests.security.world import World


@dataclass(frozen=True)
class Route:
    name: str
    pattern: str
    view_class: type | None

    @property
    def is_api(self) -> bool:
        return self.view_class is not None and issubclass(self.view_class, APIView)


def routes(patterns=None, prefix: str = "", namespace: str = "") -> list[Route]:
    found = []
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            found += routes(entry.url_patterns, prefix + str(entry.pattern),
                            entry.namespace or namespace)
        elif isinstance(entry, URLPattern):
            callback = entry.callback
            view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
            name = f"{namespace}:{entry.name}" if namespace else str(entry.name)
            found.append(Route(name, prefix + str(entry.pattern), view_class))
    return found


def url_for(route: Route, world: World, pk: int | None = None) -> str:
    """The route's path with real objects of the world in it."""
    if pk is None and "<id:pk>" in route.pattern:
        pk = _pk_for(route.name, world)
    values = {
        "pk": pk,
        "number": world.version.number,
        "token": world.account.webhook_token,
        "application_id": world.application.pk,
        "version_id": world.version.pk,
        "name": "status",
        "action": "hangup",
        "call_uuid": world.call.provider_call_id,
        "app_id": world.application.provider_app_id or "unknown",
        "file_id": "unknown",
        "uidb64": "MQ",
        "import_id": world.campaign.imports.get().pk,
        "account_sid": "unknown",
        "call_sid": "unknown",
        "year": "2026",
        "month": "12",
        "day": "03",
        "file_format": "wav",
        "application_sid": "unknown",
        "phone_number_sid": "unknown",
        "flow": "unknown",
        "account_id": world.account.pk,
    }
    if route.name == "hook_voicegateway":
        values["token"] = world.accounts["voicegateway"].webhook_token
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), route.pattern)
    return "/" + path.lstrip("^").rstrip("$")


def _pk_for(name: str, world: World) -> int:
    objects = {
        "account": world.account, "application": world.application, "number": world.number,
        "ncco": world.document, "call_profile": world.profile, "delivery": world.delivery,
        "webhook_delivery": world.delivery,
        "call": world.call, "user": world.admin, "campaign": world.campaign,
        "suppression_list": world.suppression_list, "token": world.tokens[world.admin.username],
        "recording": Recording.objects.get_or_create(
            call=world.call, provider_url="https://api.nexmo.com/v1/files/matrix")[0],
        "alert_rule": world.alert_rule, "alert_channel": world.alert_channel,
        "forwarding": world.subscription, "forwarding_delivery": world.forwarding_delivery,
        "session": UserSession.objects.get_or_create(user=world.admin, session_key="matrix")[0],
    }
    subject = name.removeprefix("api_")
    for prefix in sorted(objects, key=len, reverse=True):
        if subject.startswith(prefix):
            return objects[prefix].pk
    raise AssertionError(f"Say which object {name} is about in _pk_for.")


def admin_url(route: Route, world: World) -> str:
    """An admin route with an existing object of its model, or its app, filled in."""
    match = re.fullmatch(r"admin:(\w+?)_(\w+)_(\w+)", route.name)
    model = None
    if match:
        for content_type in ContentType.objects.filter(app_label=match.group(1)):
            if match.group(2) == content_type.model:
                model = content_type.model_class()
    instance = model.objects.order_by("pk").first() if model else None
    values = {
        "object_id": instance.pk if instance else world.admin.pk,
        "id": world.admin.pk,
        "app_label": "portal",
        "content_type_id": ContentType.objects.get_for_model(User).pk,
        "url": "nowhere",
    }
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), route.pattern)
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(values[m.group(1)]), path)
    return "/" + path.replace("^", "").replace("$", "")
