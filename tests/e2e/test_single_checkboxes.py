"""A single checkbox (form_field.html) reads the same on every form: the box, then its label
on one line, and its help under the label. The NCCO editor's "Reusable template", in a
narrow column of its Details, wrapped its label over two lines with the help beside it."""

from __future__ import annotations

import pytest

from portal.models import Role
from tests.e2e.pages import DESKTOP, PHONE, sign_in
from tests.factories import NccoVersionFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

_LAYOUT = """(box) => {
  const field = box.closest('.field'), at = e => e.getBoundingClientRect();
  const label = field.querySelector('label'), help = document.createRange();
  help.selectNodeContents(field.querySelector('.help'));  // its text, as read
  return {box: at(box).toJSON(), label: at(label).toJSON(), help: at(help).toJSON(),
          line: parseFloat(getComputedStyle(label).lineHeight)};
}"""


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_single_checkbox_is_box_and_label_on_a_line_with_its_help_under_it(
    live_server, browser, viewport
):
    ada = UserFactory(username="ada", role=Role.ADMIN)
    document = NccoVersionFactory().document
    page = browser.new_context(viewport=viewport).new_page()
    sign_in(page, live_server.url, "ada")

    for path, label in [(f"/nccos/{document.pk}/", "Reusable template"),
                        (f"/users/{ada.pk}/", "Active")]:
        page.goto(live_server.url + path)
        page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
        at = page.get_by_label(label).evaluate(_LAYOUT)
        box, shown, help_ = at["box"], at["label"], at["help"]

        assert shown["height"] < 1.5 * at["line"], (path, "label on one line", at)
        middle = box["top"] + box["height"] / 2
        assert shown["top"] <= middle <= shown["bottom"], (path, "box beside its label", at)
        assert box["right"] <= shown["left"], (path, "box before its label", at)
        assert help_["top"] >= shown["bottom"] - 1, (path, "help under the label", at)
        assert abs(help_["left"] - shown["left"]) <= 2, (path, "help lined up with it", at)
