"""Call control on pages: which actions a call's row offers."""

from django import template

from calls.models import Call
from calls.services.control import available_actions

register = template.Library()


@register.filter
def can_hang_up(call: Call) -> bool:
    """The call log's per-row hang-up button: a call its provider can still end."""
    return "hangup" in available_actions(call)
