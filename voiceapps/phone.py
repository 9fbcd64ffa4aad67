"""Phone numbers: E.164 validation, normalisation and display, with `phonenumbers`."""

import functools

import phonenumbers
from django.core.exceptions import ValidationError
from phonenumbers import PhoneNumberType, geocoder

# A number whose country has not assigned it (Ofcom's drama ranges, +44 7700 900xxx) is still
# called by the sandbox when it has the full length of one of these.
FULL_LENGTH_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE)


def _plus(value: str) -> str:
    """The number's digits after a +: separators dropped, "00" or nothing taken for "+"."""
    text = "".join(ch for ch in str(value).strip() if ch not in " -.()/")
    if text.startswith("00"):
        return "+" + text[2:]
    return text if not text or text.startswith("+") else "+" + text


def normalise(value: str, *, field: str = "e164", strict: bool = True) -> tuple[str, str]:
    """(E.164, ISO country) for `value`, or a ValidationError naming `field`.

    Accepts spaces, dashes and dots, "00" or "+" prefixes, and bare digits as providers write
    them ("31201234567"). `strict` also requires the number to be valid in its country's
    numbering plan; numbers a provider lists only need to be possible (test ranges such as
    +44 7700 900xxx are not "valid" but do exist at the provider).
    """
    try:
        parsed = phonenumbers.parse(_plus(value), None)
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


# Lists show the same numbers poll after poll (a campaign's contacts table every second), and
# parsing and formatting one costs about 0.3 ms: a table of 50 paid 15 ms for it.
@functools.lru_cache(maxsize=4096)
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


def destination(value: str, *, field: str, fictional: bool = False) -> str:
    """A number to call, as E.164, or a ValidationError naming `field` in words a person can
    act on: a number without its country code says to add it, a number its country did not
    assign names the country. With `fictional` (the sandbox) a number of full length that
    no country assigned, such as the drama range +44 7700 900xxx, is accepted too.
    """
    international_prefix = str(value).strip().startswith(("+", "00"))
    example = "e.g. +44 20 7946 0999 or +31 20 123 4567"
    try:
        parsed = phonenumbers.parse(_plus(value), None)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None and international_prefix:
        raise ValidationError({field: f"{value} does not start with a country code; check it, "
                                      f"{example}."})
    if parsed is None or (not international_prefix and not phonenumbers.is_valid_number(parsed)):
        # Digits as a provider writes them (31201234567) are a whole number; anything else
        # without + is a local number.
        raise ValidationError({field: f"{value} has no country code: add it, in international "
                                      f"format with a +, {example}."})
    if phonenumbers.is_valid_number(parsed) or (fictional and any(
            phonenumbers.is_possible_number_for_type_with_reason(parsed, kind)
            == phonenumbers.ValidationResult.IS_POSSIBLE for kind in FULL_LENGTH_TYPES)):
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    region = phonenumbers.region_code_for_country_code(parsed.country_code)
    example_number = phonenumbers.example_number(region)
    country = geocoder.country_name_for_number(example_number, "en") if example_number else ""
    where = f"a valid {country} number" if country else (
        f"a valid number of country code +{parsed.country_code}")
    raise ValidationError({field: f"{value} is not {where}; check the digits ({example})."})
