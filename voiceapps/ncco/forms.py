"""The NCCO editor's form: shapes the typed JSON and the routing table for the services."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from portal.forms import ServiceErrorsMixin
from voiceapps.models import NccoDocument
from voiceapps.ncco.services import NccoRejected, NccoVersionConflict, ncco_check
from voiceapps.ncco.validator import NccoReport

_DIGITS = re.compile(r"[0-9*#]+")
BLANK_MENU_ROWS = 2


class NccoForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=100, help_text="Unique; shown wherever the flow is chosen.")
    description = forms.CharField(max_length=300, required=False)
    is_template = forms.BooleanField(
        required=False, label="Reusable template",
        help_text="Templates are starting points; flows are what applications serve.",
    )
    content = forms.CharField(
        label="NCCO (JSON)", strip=False,
        widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "false", "autocomplete": "off",
                                     "autocapitalize": "off", "class": "ncco-source"}),
    )
    comment = forms.CharField(max_length=200, required=False, label="What changed",
                              help_text="Optional; shown in the history.")
    based_on_version = forms.IntegerField(required=False, min_value=0,
                                          widget=forms.HiddenInput)
    menu_default = forms.ModelChoiceField(
        NccoDocument.objects.order_by("name"), required=False,
        label="No match or timeout", empty_label="End the call",
    )
    menu_opt_out = forms.CharField(
        max_length=20, required=False, label="Opt-out key",
        help_text="Pressing it puts the callee on the account's do-not-call list; the call "
                  "then plays that key's route, or ends.",
    )

    def __init__(self, *args: Any, menu: dict | None = None, **kwargs: Any) -> None:
        super().__init__(*args, label_suffix="", **kwargs)
        self.document: object = None
        self.report: NccoReport | None = None
        if not self.is_bound and menu:
            self.fields["menu_default"].initial = menu.get("default")
            self.fields["menu_opt_out"].initial = menu.get("opt_out", "")
        self.menu_rows = self._menu_rows(menu or {})

    def _menu_rows(self, menu: dict) -> list[tuple[str, str]]:
        """(key, document id) rows to show: as typed when bound, else from the stored table."""
        if self.is_bound:
            rows = list(zip(self.data.getlist("menu_key"), self.data.getlist("menu_target"),
                            strict=False))
        else:
            rows = [(key, str(target)) for part in ("digits", "words")
                    for key, target in (menu.get(part) or {}).items()]
        rows = [(key, target) for key, target in rows if key.strip() or target]
        return rows + [("", "")] * BLANK_MENU_ROWS

    def field_for(self, key: str) -> str | None:
        return "content" if key == "ncco" else super().field_for(key)

    def add_service_errors(self, error: Exception) -> None:
        if isinstance(error, NccoRejected):
            self.report = error.report
        if isinstance(error, NccoVersionConflict):
            self.add_error(None, f"{error.message} Your text is kept below: compare it in the "
                                 "history, then save again to make it the newest version.")
            # Saving again is the answer to the conflict: it now starts from their version.
            self.data = self.data.copy()
            self.data["based_on_version"] = str(error.latest.number)
            return
        super().add_service_errors(error)

    def clean_content(self) -> str:
        text = self.cleaned_data["content"]
        self.document, self.report = ncco_check(document=None, text=text)
        if not self.report.valid:
            count = len(self.report.errors)
            raise forms.ValidationError(
                f"The NCCO has {count} error{'s' if count != 1 else ''}; nothing was saved. "
                "Fix the problems listed beside the editor."
            )
        return text

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        menu: dict[str, Any] = {}
        for key, target in self.menu_rows:
            key = key.strip()
            if not key and not target:
                continue
            if not key or not target:
                self.add_error(None, "Each route needs both what the caller says or presses "
                                     "and the document to answer with.")
                continue
            part = "digits" if _DIGITS.fullmatch(key) else "words"
            menu.setdefault(part, {})[key] = target
        if cleaned.get("menu_default"):
            menu["default"] = cleaned["menu_default"].pk
        if cleaned.get("menu_opt_out"):
            menu["opt_out"] = cleaned["menu_opt_out"]
        cleaned["menu"] = menu
        return cleaned
