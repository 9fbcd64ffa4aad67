"""Phone numbers: E.164 validation, normalisation and display, with `phonenumbers`."""

import functools
import unicodedata

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


def written_international(value: str) -> bool:
    """Whether the number starts with a country code's prefix, "+" or "00"."""
    return str(value).strip().startswith(("+", "00"))


def normalise(
    value: str, *, field: str = "e164", strict: bool = True, region: str = ""
) -> tuple[str, str]:
    """(E.164, ISO country) for `value`, or a ValidationError naming `field`.

    Accepts spaces, dashes and dots, "00" or "+" prefixes, and bare digits as providers write
    them ("31201234567"). `strict` also requires the number to be valid in its country's
    numbering plan; numbers a provider lists only need to be possible (test ranges such as
    +44 7700 900xxx are not "valid" but do exist at the provider).

    With `region` (an ISO 3166 code, "NL"), a number without "+" or "00" is first read as a
    national number of that country ("06 12345678"), and kept if it is valid there; otherwise
    it is read as above, and an error names the country it was tried in.
    """
    national = bool(region) and not written_international(value)
    if national:
        try:
            parsed = phonenumbers.parse(str(value), region)
        except phonenumbers.NumberParseException:
            parsed = None
        # Valid, not merely possible: a possible national number is only a length, and bare
        # international digits (12125551234 in the Netherlands) would pass for one.
        if parsed is not None and phonenumbers.is_valid_number(parsed):
            return _e164_and_country(parsed)
    try:
        parsed = phonenumbers.parse(_plus(value), None)
    except phonenumbers.NumberParseException:
        parsed = None
    checks = phonenumbers.is_valid_number if strict else phonenumbers.is_possible_number
    if parsed is not None and checks(parsed):
        return _e164_and_country(parsed)
    if national:
        example = phonenumbers.format_number(
            phonenumbers.example_number(region), phonenumbers.PhoneNumberFormat.INTERNATIONAL
        )
        raise ValidationError(
            {field: f"{value} is not a valid {region_name(region)} number; check the digits, or "
                    f"give it in international format, e.g. {example}."}
        )
    if parsed is None:
        raise ValidationError(
            {field: "Enter the number in international format, e.g. +31 20 123 4567."}
        )
    # It parsed, so it has a country code: what is wrong is that code or the digits.
    raise ValidationError(
        {field: f"{value} is not a number of country code +{parsed.country_code}; check "
                "the country code and the digits, e.g. +31 20 123 4567."}
    )


def _e164_and_country(parsed: phonenumbers.PhoneNumber) -> tuple[str, str]:
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    # Test ranges have no region of their own; their country code still names the country.
    country = phonenumbers.region_code_for_number(parsed) or (
        phonenumbers.region_code_for_country_code(parsed.country_code)
    )
    return e164, "" if country == "ZZ" else country


# Regions whose numbers `phonenumbers` names no country for: they share a country code
# (Saint Barthélemy's +590 with Guadeloupe) or it has no English name for them.
UNNAMED_REGIONS = {
    "AC": "Ascension Island",
    "BL": "Saint Barthélemy",
    "EH": "Western Sahara",
    "MF": "Saint Martin",
    "TA": "Tristan da Cunha",
    "XK": "Kosovo",
}


def region_name(region: str) -> str:
    """"NL" -> "Netherlands"; "" for a region `phonenumbers` does not know."""
    example = phonenumbers.example_number(region)
    named = geocoder.country_name_for_number(example, "en") if example else ""
    return named or UNNAMED_REGIONS.get(region, "")


def _alphabetical(text: str) -> str:
    """"Åland Islands" -> "aland islands": sorted among the A's, not after Zimbabwe."""
    return "".join(
        ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)
    ).casefold()


def is_region(code: str) -> bool:
    """Whether `code` is a region `phonenumbers` reads national numbers of ("NL"), checked
    without naming every country as `region_choices` does."""
    return code in phonenumbers.SUPPORTED_REGIONS


def region_label(region: str) -> str:
    """"NL" -> "Netherlands (+31)"."""
    return f"{region_name(region)} (+{phonenumbers.country_code_for_region(region)})"


@functools.cache
def region_choices() -> tuple[tuple[str, str], ...]:
    """Every region `phonenumbers` reads national numbers of, by name: ("NL", "Netherlands
    (+31)")."""
    labelled = ((region, region_label(region)) for region in phonenumbers.SUPPORTED_REGIONS)
    return tuple(sorted(labelled, key=lambda choice: _alphabetical(choice[1])))


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
    international_prefix = written_international(value)
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
    country = region_name(phonenumbers.region_code_for_country_code(parsed.country_code))
    where = f"a valid {country} number" if country else (
        f"a valid number of country code +{parsed.country_code}")
    raise ValidationError({field: f"{value} is not {where}; check the digits ({example})."})
