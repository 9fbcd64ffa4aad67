"""How a notification reaches each kind of channel: e-mail, a Slack-compatible incoming
webhook, or a webhook signed by the Standard Webhooks convention.

Every outbound URL passes portal/urlsafety.py's checks, when the channel is saved and again
on the connection itself (guard_session), as provider base URLs do.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from django.core.mail import send_mail

from alerts.models import AlertChannel, ChannelKind
from portal import crypto
from portal.redaction import url_host
from portal.urlsafety import UnsafeUrl, guard_session

TIMEOUT = (3.05, 10.0)  # connect, read: a channel never holds the evaluation long


@dataclass(frozen=True)
class Message:
    event: str  # fired, reminder, resolved, test
    subject: str  # one line
    body: str  # a few lines for people
    data: dict[str, Any]  # the machine-readable alert, for the signed webhook


def _post(url: str, body: bytes, headers: dict[str, str]) -> None:
    session = guard_session(requests.Session())
    host = url_host(url)
    try:
        # Streamed and closed unread: the status is all we need, and a receiver's long or
        # endless answer must not hold the worker.
        with session.post(url, data=body, timeout=TIMEOUT, allow_redirects=False, stream=True,
                          headers={"Content-Type": "application/json", **headers}) as response:
            status_code = response.status_code
    except UnsafeUrl as refusal:
        raise ChannelError(str(refusal)) from None
    except requests.Timeout:
        raise ChannelError(f"{host} did not answer within {TIMEOUT[1]:g} s.") from None
    except requests.RequestException as exc:
        # The exception's text repeats connection internals; the host and the kind say enough.
        raise ChannelError(f"Could not reach {host} ({type(exc).__name__}).") from None
    if not 200 <= status_code < 300:
        raise ChannelError(f"The receiver answered HTTP {status_code}.")


class ChannelError(Exception):
    """A notification could not be delivered; the message says why, without secrets."""


def send_email(channel: AlertChannel, message: Message) -> None:
    recipients = [address.strip() for address in channel.target.split(",") if address.strip()]
    send_mail(message.subject, message.body, settings.DEFAULT_FROM_EMAIL, recipients)


def send_slack(channel: AlertChannel, message: Message) -> None:
    # Slack's incoming webhooks (and Mattermost's, Rocket.Chat's, Teams' Slack-compatible
    # ones) take {"text": …} with mrkdwn.
    text = f"*{message.subject}*\n{message.body}"
    _post(channel.target, json.dumps({"text": text}).encode(), {})


def standard_webhook_headers(secret: str, msg_id: str, timestamp: int, body: bytes
                             ) -> dict[str, str]:
    """The Standard Webhooks signature: HMAC-SHA256 of "id.timestamp.body", base64, "v1,"."""
    key = secret.removeprefix("whsec_")
    try:
        key_bytes = base64.b64decode(key, validate=True)
    except ValueError:
        key_bytes = key.encode()  # a secret typed by hand rather than generated
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = base64.b64encode(hmac.new(key_bytes, signed, hashlib.sha256).digest()).decode()
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": f"v1,{digest}"}


def send_webhook(channel: AlertChannel, message: Message) -> None:
    body = json.dumps({"type": f"alert.{message.event}", "data": message.data},
                      sort_keys=True).encode()
    secret = crypto.decrypt(channel.secret_encrypted)
    headers = standard_webhook_headers(secret, f"msg_{uuid.uuid4().hex}", int(time.time()), body)
    _post(channel.target, body, headers)


SENDERS: dict[str, Callable[[AlertChannel, Message], None]] = {
    ChannelKind.EMAIL: send_email,
    ChannelKind.SLACK: send_slack,
    ChannelKind.WEBHOOK: send_webhook,
}
