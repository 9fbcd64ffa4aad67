"""Every action the code records has a plain label, so the audit log's filter offers it."""

import re
from pathlib import Path

from portal.audit_actions import KINDS, LABELS

ROOT = Path(__file__).resolve().parents[2]
APPS = ["alerts", "calls", "campaigns", "forwarding", "portal", "recordings", "voiceapps"]
# action="kind.verb" (a call or a keyword's default), and action=f"kind.{…}".
NAMED = re.compile(r"""action(?::\s*str)?\s*=\s*["']([a-z_]+\.[a-z0-9_]+)["']""")
BUILT = re.compile(r"""action=f["']([a-z_]+)\.\{""")


def _sources() -> str:
    return "\n".join(path.read_text() for app in APPS for path in (ROOT / app).rglob("*.py")
                     if "migrations" not in path.parts)


def test_every_named_action_has_a_label():
    named = set(NAMED.findall(_sources()))
    assert named and named <= set(LABELS), sorted(named - set(LABELS))


def test_every_built_action_has_its_kind():
    built = set(BUILT.findall(_sources()))
    assert built == {"call", "campaign"} and built <= set(KINDS)
