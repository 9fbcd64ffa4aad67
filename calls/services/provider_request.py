"""Our stored call -> the adapter's create-call request, shared by placing, sending, the
sweep's status question and call control."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from calls.models import Call
from voiceapps.hooks import default_event_url
from voiceapps.models import Application, ProviderAccount
from voiceapps.providers.base import (
    FLOW_ANSWER_URL,
    FLOW_NCCO,
    ApplicationConfig,
    CallRequest,
    Provider,
    ProviderError,
)
from voiceapps.services import application_answer_url, application_event_url

NON_FIELD = "non_field_errors"  # the API's name for errors of the request as a whole
# Where the adapter's invalid_parameters names belong among our fields.
ADAPTER_FIELDS = {
    "from": "from_number",
    "random_from_number": "from_number",
    "ncco": "flow",
    "answer_url": "flow",
    "answer_method": "flow",
    "application_sid": "flow",
}


def application_config(
    account: ProviderAccount, application: Application | None
) -> ApplicationConfig:
    """The adapter's view of the application, with Callboard's hosted answer/event URLs."""
    if application is None:
        return ApplicationConfig(event_url=default_event_url(account))
    return application.config(
        answer_url=application_answer_url(application),
        event_url=application_event_url(application),
    )


def call_request(
    *, to: Mapping[str, Any], from_number: str, flow: Mapping[str, Any], options: Mapping[str, Any]
) -> CallRequest:
    """Our stored call -> the adapter's CallRequest.

    `options` holds everything sent besides to, from and the flow, as the provider names it;
    `random_from_number` is among them because it replaces `from`.
    """
    sent = dict(options)
    random_from = bool(sent.pop("random_from_number", False))
    kind = flow.get("type")
    return CallRequest(
        to=dict(to),
        from_number=from_number,
        random_from_number=random_from,
        answer_url=flow.get("url", "") if kind == FLOW_ANSWER_URL else "",
        answer_method=flow.get("method", "") if kind == FLOW_ANSWER_URL else "",
        ncco=flow.get("ncco") if kind == FLOW_NCCO else None,
        options=sent,
    )


def call_request_of(call: Call) -> CallRequest:
    return call_request(
        to=call.to_endpoint, from_number=call.from_number, flow=call.flow, options=call.options
    )


def adapter_problems(error: ProviderError, provider: type[Provider]) -> dict[str, list[str]]:
    """The adapter's refusal, on our field names."""
    problems: dict[str, list[str]] = {}
    for parameter in error.invalid_parameters:
        name = parameter.get("name", "")
        if name.startswith("to."):
            field = name
        elif name in provider.CALL_OPTIONS:
            field = f"options.{name}"
        else:
            field = ADAPTER_FIELDS.get(name, NON_FIELD)
        reason = parameter.get("reason", "")
        problems.setdefault(field, []).append(
            f"{provider.label}: {name} {reason}."
            if field == NON_FIELD
            else f"{provider.label}: {reason}."
        )
    return problems or {NON_FIELD: [error.message]}
