"""Verbs checked as jambonz's feature server checks them (its vendored specs.json)."""

import pytest

from voiceapps.providers.voicegateway_verbs import specs, verb_problems


def test_the_vendored_specification_is_jambonz_s():
    assert {
        "say",
        "play",
        "gather",
        "dial",
        "pause",
        "config",
        "conference",
        "redirect",
        "tag",
        "listen",
        "hangup",
    } <= set(specs())


@pytest.mark.parametrize(
    "verbs",
    [
        [
            {
                "verb": "say",
                "text": "Hello",
                "synthesizer": {"vendor": "default", "language": "en-US"},
            }
        ],
        [{"say": {"text": "Hello"}}],  # jambonz's other spelling: one key naming the verb
        [{"verb": "play", "url": ["https://a/1.mp3", "https://a/2.mp3"], "loop": "forever"}],
        [
            {
                "verb": "gather",
                "input": ["digits"],
                "actionHook": "/menu",
                "say": {"text": "Press 1"},
            }
        ],
        [
            {
                "verb": "dial",
                "target": [{"type": "phone", "number": "447700900001"}],
                "amd": {"actionHook": {"url": "https://a/amd"}},
            }
        ],
        [{"verb": "stream", "url": "wss://a/audio"}],  # a synonym of listen
        [{"verb": "pause", "length": 2, "_": {"anything": "rides here"}}],
        [{"verb": "hangup", "headers": None}],  # JavaScript's typeof null is "object"
    ],
)
def test_verbs_jambonz_runs_pass(verbs):
    assert verb_problems(verbs) == []


@pytest.mark.parametrize(
    ("verbs", "expected"),
    [
        ({"verb": "say"}, ("", "The verbs must be a JSON array.")),
        (["say"], ("/0", "Each verb must be a JSON object.")),
        ([{"text": "Hi", "loop": 2}], ("/0", 'The verb has no "verb" property.')),
        ([{"verb": "speak", "text": "Hi"}], ("/0/verb", "jambonz has no verb 'speak'.")),
        ([{"verb": "say", "txt": "Hi"}], ("/0/txt", "say has no property 'txt'.")),
        ([{"verb": "pause"}], ("/0", "pause needs length.")),
        ([{"verb": "pause", "length": "2"}], ("/0/length", "pause: length must be a number.")),
        (
            [{"verb": "say", "text": "Hi", "synthesizer": {"language": "en-US"}}],
            ("/0/synthesizer", "synthesizer needs vendor."),
        ),
        (
            [{"verb": "dial", "target": {"type": "phone"}}],
            ("/0/target", "dial: target must be an array."),
        ),
        (
            [{"verb": "dial", "target": [{"type": "pstn", "number": "1"}]}],
            ("/0/target/0/type", "target: type must be one of phone, sip, user, teams."),
        ),
        ([{"verb": "gather", "input": "digits"}], ("/0/input", "gather: input must be an array.")),
    ],
)
def test_what_jambonz_refuses_is_pointed_at(verbs, expected):
    assert expected in verb_problems(verbs)


def test_every_fault_is_listed_not_only_the_first():
    problems = verb_problems([{"verb": "say", "txt": "Hi"}, {"verb": "pause"}])

    assert [path for path, _ in problems] == ["/0/txt", "/1"]
