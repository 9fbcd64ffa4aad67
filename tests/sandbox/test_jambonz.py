"""The sandbox's jambonz callee: how long it listens to a prompt before the flow goes on."""

import math

import pytest

from tests.factories import SandboxCallFactory
from voiceapps.sandbox.jambonz import Player, run_verb

PLAY_SECONDS = 4.0


def seconds_until_next_verb(verb: dict) -> float:
    player = Player(next_step=lambda op, delay=0.0, args=None: (op, delay),
                    say_seconds=lambda text: len(text) / 15, play_seconds=PLAY_SECONDS,
                    answer_input=lambda *args: ({}, 0.0))
    op, delay = run_verb(SandboxCallFactory.build(), verb, player)
    assert op == "action"
    return delay


# jambonz takes loop as a number or a string (play.js); "forever" plays until the call ends.
@pytest.mark.parametrize(("loop", "seconds"), [
    (3, 3 * PLAY_SECONDS),
    ("3", 3 * PLAY_SECONDS),
    ("forever", math.inf),
    ("9" * 10, math.inf),  # more plays than any call's length limit holds
    ("9" * 5000, math.inf),  # int() refuses 4,300 digits
    ("\u00b2", PLAY_SECONDS),  # "²".isdigit() is true and int() refuses it
    ("\u0663", PLAY_SECONDS),  # Arabic-Indic three is not a count jambonz reads
    (0, PLAY_SECONDS),
    (-2, PLAY_SECONDS),
    ("twice", PLAY_SECONDS),
])
def test_a_looped_play_lasts_its_plays(loop, seconds):
    verb = {"verb": "play", "url": "https://example.com/a.mp3", "loop": loop}

    assert seconds_until_next_verb(verb) == seconds


def test_a_looped_say_lasts_its_words_times_the_loop():
    assert seconds_until_next_verb({"verb": "say", "text": "x" * 45, "loop": 2}) == 6.0
