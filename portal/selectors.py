"""Reads the frame's pages and API share."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.apps import apps
from django.urls import NoReverseMatch, reverse

from portal import lockout, twofactor
from portal.models import AuditEntry, User

# The page of each kind of audited object, by the object_type entries record: named, not
# imported, so portal stays below the apps whose objects it audits (tests/test_layering.py).
AUDIT_OBJECT_PAGES = {
    "calls.call": "call_detail",
    "campaigns.campaign": "campaign_detail",
    "campaigns.suppressionlist": "suppression_list_detail",
    "voiceapps.provideraccount": "account_detail",
    "voiceapps.application": "application_detail",
    "voiceapps.number": "number_detail",
    "voiceapps.nccodocument": "ncco_edit",
    "voiceapps.callprofile": "call_profile_edit",
    "portal.user": "user_edit",
    "alerts.alertrule": "alert_rule_edit",
    "alerts.alertchannel": "alert_channel_edit",
    "forwarding.subscription": "forwarding_detail",
}


def users_with_sign_in_state(users: Iterable[User]) -> list[User]:
    """The users, each with `locked_until` (when a lock from failed sign-ins ends; None: not
    locked) and `two_factor` (enrolled): what the Users pages and the users API show."""
    users = list(users)
    locks = lockout.usernames_locked_until([user.username for user in users])
    enrolled = twofactor.two_factor_enrolled_ids(users)
    for user in users:
        user.locked_until = locks.get(user.username)
        user.two_factor = user.pk in enrolled
    return users


def audit_object_links(entries: Iterable[AuditEntry]) -> dict[int, str]:
    """The page of each entry's object that still exists, by entry id: one query per kind of
    object on the page (at most len(AUDIT_OBJECT_PAGES)), never one per row."""
    entries = list(entries)
    wanted: dict[str, set[int]] = defaultdict(set)
    for entry in entries:
        if entry.object_type in AUDIT_OBJECT_PAGES and entry.object_id.isdigit():
            wanted[entry.object_type].add(int(entry.object_id))
    existing: set[tuple[str, str]] = set()
    for object_type, ids in wanted.items():
        try:
            model = apps.get_model(object_type)
        except LookupError:  # an app not installed here
            continue
        # The base manager: a page may show what a default manager leaves out.
        pks = model._base_manager.filter(pk__in=ids).values_list("pk", flat=True)
        existing.update((object_type, str(pk)) for pk in pks)
    links = {}
    for entry in entries:
        if (entry.object_type, entry.object_id) in existing:
            try:
                links[entry.pk] = reverse(AUDIT_OBJECT_PAGES[entry.object_type],
                                          args=[int(entry.object_id)])
            except NoReverseMatch:  # a page this installation leaves out
                continue
    return links
