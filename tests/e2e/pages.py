"""What every main page must pass in the browser, and its screenshots for docs/ and README.

`check_page` looks at the page a user has in front of them: axe-core finds no serious or
critical accessibility violation, the keyboard focus is visible, nothing is wider than a
390 px phone (tables scroll inside their `.tablewrap`, never the page), and it takes
`<name>-desktop.png` (1366x768) and `<name>-phone.png` (390x844). They go to
`<CALLBOARD_VAR_DIR>/screenshots/`, so a test run leaves the work tree as it was, and to
`docs/screenshots/` only with `UPDATE_SCREENSHOTS=1` (then commit the ones that changed).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from django.conf import settings

from tests.factories import PASSWORD

REPO = Path(__file__).resolve().parents[2]
AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1.min.js"
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
BLOCKING = ("serious", "critical")

_AXE_RUN = """async (exclude) => {
  const context = exclude.length ? {include: [document], exclude: exclude.map(s => [s])} : document;
  const result = await axe.run(context, {resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(" ") + ": " + n.failureSummary),
  }));
}"""

_FOCUS = """() => {
  const element = document.activeElement, style = getComputedStyle(element);
  const box = element.getBoundingClientRect();
  return {what: element.outerHTML.slice(0, 80), style: style.outlineStyle,
          width: parseFloat(style.outlineWidth), visible: box.width > 0 && box.height > 0};
}"""


def accessibility_violations(page: Any, exclude: tuple[str, ...] = ()) -> list[dict]:
    """axe-core's serious and critical findings on the page as it is now, outside the
    elements `exclude` selects."""
    # Evaluated over the DevTools protocol, not as a <script>: our Content-Security-Policy
    # refuses inline scripts, and the audit must not need an exception to it.
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text())
    return [v for v in page.evaluate(_AXE_RUN, list(exclude)) if v["impact"] in BLOCKING]


def focus_after_tabs(page: Any, presses: int) -> dict:
    """Where the focus is after `presses` Tabs from the skip link, every page's first stop."""
    page.locator(".skip-link").focus()
    for _ in range(presses):
        page.keyboard.press("Tab")
    return page.evaluate(_FOCUS)


def labelled(page: Any, label: str) -> Any:
    """The input labelled `label`, whether or not it is marked required (" *")."""
    return page.get_by_label(re.compile(rf"^{re.escape(label)}( \*)?$"))


def sign_in(page: Any, base_url: str, username: str, next_path: str = "") -> None:
    """Signs `username` in through the login form, as a person would; the browser then goes
    to `next_path`, or to the dashboard without one."""
    page.goto(f"{base_url}/login/" + (f"?next={next_path}" if next_path else ""))
    labelled(page, "Username").fill(username)
    labelled(page, "Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # As a person waits for the page to appear before typing: a box filled while its
    # deferred scripts still load gets no input listener (the NCCO check, seen under load).
    page.wait_for_load_state()


def page_width(page: Any) -> int:
    return page.evaluate("() => document.documentElement.scrollWidth")


def screenshots_dir() -> Path:
    """Where screenshots go: docs/ only when asked, else the var dir, which git ignores."""
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        return REPO / "docs" / "screenshots"
    folder = settings.VAR_DIR / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def check_page(page: Any, name: str, screenshots: bool = True,
               exclude: tuple[str, ...] = ()) -> list[str]:
    """Audit the page at desktop and phone width, take its two screenshots; the problems.

    Problems are returned, not raised, so that one run reports every page's. `exclude`
    leaves a third party's widget out of the accessibility audit (not out of the pictures).
    """
    problems: list[str] = []
    page.set_viewport_size(DESKTOP)
    page.wait_for_load_state("load")
    violations = accessibility_violations(page, exclude)
    problems += [f"axe {v['impact']} {v['id']} ({v['help']}): {v['nodes']}" for v in violations]
    focus = focus_after_tabs(page, 1)  # the brand: a link every page has
    if focus["style"] == "none" or focus["width"] < 2 or not focus["visible"]:
        problems.append(f"keyboard focus is not visible on {focus['what']}")
    page.evaluate("() => document.activeElement.blur()")  # no focus ring in the screenshots
    if screenshots:
        page.screenshot(path=screenshots_dir() / f"{name}-desktop.png")

    page.set_viewport_size(PHONE)
    width = page_width(page)
    if width > PHONE["width"]:
        problems.append(f"the page is {width} px wide on a {PHONE['width']} px phone")
    if screenshots:
        page.screenshot(path=screenshots_dir() / f"{name}-phone.png")
    page.set_viewport_size(DESKTOP)
    return [f"{name} ({page.url}): {problem}" for problem in problems]
