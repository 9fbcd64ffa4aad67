"""The dashboard's test call: the demo flow, to a callee whose behaviour is scripted.

It is placed like any call (`call_place`); the provider's scripted callees (the sandbox's)
say which number behaves how.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

from calls import selectors
from calls.models import Call
from calls.services.placing import VIA_FORM, call_place
from portal.services import Actor, StateConflict
from voiceapps.providers.base import FLOW_APPLICATION
from voiceapps.providers.registry import provider_class


def test_call_place(*, actor: Actor, callee: str = "", application_id: str = "") -> Call:
    """Call the scripted callee named `callee` (the provider's default if empty) with the
    demo flow of the test call target whose application is `application_id` (the first if
    empty), from a number of that application."""
    targets = selectors.test_call_targets()
    if not targets:
        raise StateConflict(
            "There is no sandbox application with a hosted flow and a number yet; "
            "run `manage.py first_run` or add one on the Accounts page."
        )
    chosen = [target for target in targets
              if not application_id or str(target[0].pk) == application_id]
    if not chosen:
        raise ValidationError({"application": "Choose one of the sandboxes' demo applications."})
    application, number = chosen[0]
    provider = provider_class(application.account.kind)
    name = callee or provider.DEFAULT_SCRIPTED_CALLEE
    scripted = {entry.name: entry for entry in provider.SCRIPTED_CALLEES}
    if name not in scripted:
        raise ValidationError({"script": "Choose one of the sandbox's callee scripts."})
    call, _ = call_place(
        actor=actor,
        via=VIA_FORM,
        application=application,
        from_number=number.e164,
        to={"type": "phone", "number": scripted[name].number},
        flow={"type": FLOW_APPLICATION},
    )
    return call
