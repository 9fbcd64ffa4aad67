"""The sandbox's page fragment: its callee script table."""

import re

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from voiceapps.sandbox.scripts import HUMAN, SCRIPTS, TAG_KEYS

register = template.Library()
_BACKTICKED = re.compile(r"`([^`]+)`")


@register.filter
def backticks(text: str) -> SafeString:
    """The scripts' summaries are written for the README: `word` becomes <code>word</code>."""
    return mark_safe(_BACKTICKED.sub(r"<code>\1</code>", escape(text)))


@register.inclusion_tag("sandbox/_script_table.html")
def sandbox_script_table() -> dict:
    return {"scripts": (*SCRIPTS, HUMAN), "tag_keys": TAG_KEYS.items()}
