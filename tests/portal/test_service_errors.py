"""ServiceErrorsMixin: a service's refusal lands on the form as a person can act on it."""

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from portal.forms import ServiceErrorsMixin
from voiceapps.providers.base import ProviderError


class NameForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField()


def refused(error: Exception) -> NameForm:
    form = NameForm({"name": "Sales"})
    assert form.is_valid()
    form.add_service_errors(error)
    return form


def test_a_message_for_a_field_lands_on_that_field():
    form = refused(ValidationError({"name": ["Taken already."]}))

    assert form.errors == {"name": ["Taken already."]}


def test_a_message_for_a_key_no_field_holds_names_it_above_the_form():
    form = refused(ValidationError({"to.number": ["Not E.164."],
                                    NON_FIELD_ERRORS: ["Nothing was saved."]}))

    assert form.non_field_errors() == ["to.number: Not E.164.", "Nothing was saved."]


def test_a_refusal_without_fields_or_from_a_provider_is_one_sentence_above_the_form():
    assert refused(ValidationError("In use.")).non_field_errors() == ["In use."]
    assert refused(ProviderError("Vonage refused the key (401).", status=401)) \
        .non_field_errors() == ["Vonage refused the key (401)."]
