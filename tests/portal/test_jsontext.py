"""The one parser for request JSON, and numbers read from it as quantities."""

import pytest

from portal.jsontext import JsonRefused, json_number, json_parse


@pytest.mark.parametrize("body", [b'{"timeout": 1e400}', b"[-1E400]"])
def test_a_number_past_a_floats_range_is_refused(body):
    # Python reads it as infinity, which PostgreSQL's jsonb and the providers refuse.
    with pytest.raises(JsonRefused, match="past the range"):
        json_parse(body)


@pytest.mark.parametrize(("value", "number"), [
    (5, 5.0), (2.5, 2.5), (10**400, 60.0), (-(10**400), 0.0), (-1, 0.0),
    ("5", 7.0), (True, 7.0), (None, 7.0), ([5], 7.0), (float("nan"), 7.0),
])
def test_a_quantity_is_a_number_within_its_bounds_or_the_default(value, number):
    assert json_number(value, low=0, high=60, default=7.0) == number
