"""The callee script table: chosen by the number's last four digits, or by the call's tag."""

import pytest

from tests.conftest import REPO
from voiceapps.sandbox.scripts import (
    BY_NAME,
    HUMAN,
    SCRIPTS,
    TAG_KEYS,
    resolve_script,
    script_for_number,
)


@pytest.mark.parametrize(("number", "name"), [
    ("447700900001", "busy"), ("+1 555 010 0002", "no_answer"), ("31200000003", "machine_beep"),
    ("447700900004", "machine"), ("447700900005", "failed"), ("447700900006", "digits"),
    ("447700900007", "speech"), ("447700900008", "hangup"), ("447700900009", "rejected"),
    ("447700900000", "human"), ("447700900010", "human"), ("14155550100", "human"),
])
def test_the_number_picks_the_script(number, name):
    assert script_for_number(number).name == name


def test_every_script_has_its_own_ending_and_a_matching_example_number():
    assert len({s.ending for s in SCRIPTS}) == len(SCRIPTS)
    for script in (*SCRIPTS, HUMAN):
        assert script_for_number(script.example_number) == script
        assert script.summary


def test_the_tag_overrides_the_number():
    resolved = resolve_script("447700900000", {"sandbox_script": "busy"})
    assert resolved["name"] == "busy" and resolved["outcome"] == "busy"

    pressing = resolve_script("447700900000", {"sandbox_digits": "12, 3"})
    assert pressing["name"] == "human" and pressing["digits"] == ["12", "3"]

    saying = resolve_script("447700900006", {"sandbox_speech": "support",
                                             "sandbox_hangup_after": "4.5"})
    assert saying["words"] == ["support"] and saying["hangup_after"] == 4.5
    assert saying["digits"] == ["1"]  # the number's own digits remain


def test_a_bad_tag_value_is_ignored_with_a_warning(caplog):
    resolved = resolve_script("447700900001", {"sandbox_script": "explode",
                                               "sandbox_hangup_after": "soon"})
    assert resolved == resolve_script("447700900001")
    assert "explode" in caplog.text and "sandbox_hangup_after" in caplog.text


def test_scripts_are_stored_as_plain_json():
    assert resolve_script("447700900006") == {**BY_NAME["digits"].as_dict(), "digits": ["1"],
                                              "words": []}


def test_the_readme_documents_every_script_and_setting():
    readme = (REPO / "README.md").read_text()

    for script in (*SCRIPTS, HUMAN):
        assert f"| `+{script.example_number}` | `{script.name}` | {script.summary} |" in readme
    for name in TAG_KEYS:
        assert f"`{name}`" in readme
    for setting in ("SANDBOX_TIME_SCALE", "SANDBOX_ALLOWED_HOSTS"):
        assert f"| `{setting}` |" in readme


# jambonz takes any JSON "object" as a call's tag (arrays and null too), and a number of
# seconds past a float's range or infinite cannot be stored in the call's JSON.
@pytest.mark.parametrize("tag", [["sandbox_script", "busy"], "busy", 7])
def test_a_tag_that_is_no_object_leaves_the_numbers_script(tag):
    assert resolve_script("447700900001", tag)["name"] == "busy"


@pytest.mark.parametrize("seconds", ["1e400", 10**400, "nan", "inf"])
def test_a_hangup_after_that_is_no_finite_number_is_ignored(seconds):
    assert resolve_script("447700900000", {"sandbox_hangup_after": seconds})["hangup_after"] is None
