"""How alert rules look on pages: a threshold with its unit, as the notifications say it."""

from django import template

from alerts.checks import threshold_with_unit

register = template.Library()
register.filter("threshold_with_unit", threshold_with_unit)
