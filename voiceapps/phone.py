"""Phone numbers: E.164 validation, normalisation and display, with `phonenumbers`."""

import phonenumbers
from django.core.exceptions import ValidationError
from phonenumbers import geocoder


def normalise(value: str, *, field: str = "e164", strict: bool = True) -> tuple[str, str]:
    """(E.164, ISO country) for `value`, or a ValidationError naming `field`.

    Accepts spaces, dashes and dots, "00" or "+" prefixes, and bare digits as providers write
    them ("31201234567"). `strict` also requires the number to be valid in its country's
    numbering plan; numbers a provider lists only need to be possible (test ranges such as
    +44 7700 900xxx are not "valid" but do exist at the provider).
    """
    text = "".join(ch for ch in str(value).strip() if ch not in " -.()/")
    if text.startswith("00"):
        text = "+" + text[2:]
    elif text and not text.startswith("+"):
        text = "+" + text
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        raise ValidationError(
            {field: "Enter the number in international format, e.g. +31 20 123 4567."}
        ) from None
    checks = phonenumbers.is_valid_number if strict else phonenumbers.is_possible_number
    if not checks(parsed):
        # It parsed, so it has a country code: what is wrong is that code or the digits.
        raise ValidationError(
            {field: f"{value} is not a number of country code +{parsed.country_code}; check "
                    "the country code and the digits, e.g. +31 20 123 4567."}
        )
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    # Test ranges have no region of their own; their country code still names the country.
    country = phonenumbers.region_code_for_number(parsed) or (
        phonenumbers.region_code_for_country_code(parsed.country_code)
    )
    return e164, "" if country == "ZZ" else country


def international(e164: str) -> str:
    """"+31201234567" -> "+31 20 123 4567"; anything unparsable as it is."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def country_name(e164: str, country: str = "") -> str:
    """The number's country in English ("Netherlands"), else the stored ISO code."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return country
    return geocoder.country_name_for_number(parsed, "en") or country
