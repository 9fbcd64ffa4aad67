"""NCCO documents and examples for the NCCO, editor and answer URL tests."""

from __future__ import annotations

import json
import pathlib
from typing import Any

from portal.services import SYSTEM, Actor
from voiceapps.models import NccoDocument
from voiceapps.ncco import services

EXAMPLES = pathlib.Path(services.__file__).parent / "examples"
GREETING = [{"action": "talk", "text": "Hello {{from}}, you called {{to}}."}]


def make_document(
    name: str = "Greeting", content: Any = None, *, actor: Actor = SYSTEM, **kwargs: Any
) -> NccoDocument:
    saved = services.ncco_document_create(
        actor=actor, name=name, content=GREETING if content is None else content, **kwargs
    )
    return saved.version.document


def example(name: str) -> list:
    return json.loads((EXAMPLES / f"{name}.json").read_text())
