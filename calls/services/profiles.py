"""Call profiles: named sets of one provider's call options, checked like a call's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from calls import options as rules
from portal.services import Actor, apply_values, audit_record, audited_delete
from voiceapps.models import CallProfile
from voiceapps.providers.registry import provider_class


def _check_profile_options(kind: str, options: Any) -> dict[str, Any]:
    if not isinstance(options, Mapping):
        raise ValidationError({"options": "Give the options as an object."})
    problems = rules.option_problems(provider_class(kind), options)
    if problems:
        raise ValidationError(problems)
    return dict(options)


@transaction.atomic
def call_profile_create(
    *, actor: Actor, name: str, kind: str, options: Mapping[str, Any], description: str = ""
) -> CallProfile:
    profile = CallProfile(
        name=name.strip(), kind=kind, description=description.strip(), created_by=actor.user
    )
    profile.full_clean(exclude=["options"])
    profile.options = _check_profile_options(kind, options)
    profile.save()
    audit_record(
        actor=actor,
        action="call_profile.create",
        obj=profile,
        changes={"kind": kind, "options": profile.options},
    )
    return profile


@transaction.atomic
def call_profile_update(
    *,
    actor: Actor,
    profile: CallProfile,
    name: str | None = None,
    description: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> CallProfile:
    """Change a profile; its provider kind stays (its options are that provider's)."""
    values: dict[str, Any] = {
        field: value.strip()
        for field, value in (("name", name), ("description", description)) if value is not None
    }
    if options is not None:
        values["options"] = _check_profile_options(profile.kind, options)
    changes = apply_values(profile, values)
    profile.full_clean()
    if changes:
        profile.save()
        audit_record(actor=actor, action="call_profile.update", obj=profile, changes=changes)
    return profile


@transaction.atomic
def call_profile_delete(*, actor: Actor, profile: CallProfile) -> None:
    audited_delete(actor=actor, obj=profile, action="call_profile.delete")
