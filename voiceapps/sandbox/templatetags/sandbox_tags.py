"""The sandbox's page fragments: its callee script table and the test-call form."""

import re

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from voiceapps.sandbox.scripts import HUMAN, SCRIPTS, TAG_KEYS
from voiceapps.sandbox.services import DEFAULT_TEST_SCRIPT, sandbox_test_target

register = template.Library()
_BACKTICKED = re.compile(r"`([^`]+)`")


@register.filter
def backticks(text: str) -> SafeString:
    """The scripts' summaries are written for the README: `word` becomes <code>word</code>."""
    return mark_safe(_BACKTICKED.sub(r"<code>\1</code>", escape(text)))


@register.inclusion_tag("sandbox/_script_table.html")
def sandbox_script_table() -> dict:
    return {"scripts": (*SCRIPTS, HUMAN), "tag_keys": TAG_KEYS.items()}


@register.inclusion_tag("sandbox/_test_call_form.html", takes_context=True)
def sandbox_test_call_form(context: template.Context) -> dict:
    """The form, for operators, once a sandbox application can take a call."""
    return {
        "show": bool(context.get("is_operator")) and sandbox_test_target() is not None,
        "scripts": (*SCRIPTS, HUMAN),
        "default": DEFAULT_TEST_SCRIPT,
        "csrf_token": context.get("csrf_token"),
    }
