"""Every page that edits, deletes or confirms something says in its <title> and <h1> what kind
of thing it is about, as the detail pages do ("Account Sandbox"): "Edit Sandbox" could be an
account, an application or a campaign, and a tab or a bookmark shows nothing else."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.db.models import Model
from django.urls import reverse

from tests.factories import (
    AlertChannelFactory,
    AlertRuleFactory,
    ApplicationFactory,
    CallProfileFactory,
    CampaignFactory,
    NumberFactory,
    ProviderAccountFactory,
    SubscriptionFactory,
)
from tests.voiceapps.ncco_helpers import make_document

pytestmark = pytest.mark.django_db


def _sandbox() -> Model:
    return ProviderAccountFactory(sandbox=True, name="Sandbox")


# Route name, what makes its object (the route's argument is its pk), title, and the h1's
# words when they differ from the title (a question on a confirmation page).
PAGES: list[tuple[str, Callable[[], Model], str, str | None]] = [
    ("account_edit", _sandbox, "Edit account Sandbox", None),
    ("application_edit", lambda: ApplicationFactory(name="Support line"),
     "Edit application Support line", None),
    ("number_edit", lambda: NumberFactory(e164="+31201234567"),
     "Edit number +31 20 123 4567", None),
    ("campaign_edit", lambda: CampaignFactory(name="Spring"), "Edit campaign Spring", None),
    ("campaign_preview", lambda: CampaignFactory(name="Spring"),
     "Preview of campaign Spring", None),
    ("call_profile_edit", lambda: CallProfileFactory(name="Quick"),
     "Edit call profile Quick", None),
    ("forwarding_edit", lambda: SubscriptionFactory(name="CRM"), "Edit subscription CRM", None),
    ("alert_rule_edit", lambda: AlertRuleFactory(name="Rejections"),
     "Edit alert rule Rejections", None),
    ("alert_channel_edit", lambda: AlertChannelFactory(name="Ops mail"),
     "Edit alert channel Ops mail", None),
    ("ncco_edit", lambda: make_document("Greeting"), "NCCO Greeting", None),
    ("ncco_delete", lambda: make_document("Greeting"), "Delete NCCO Greeting",
     "Delete NCCO “Greeting”?"),
    ("recording_retention_edit", _sandbox, "Recording retention of account Sandbox", None),
]


def _words(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.mark.parametrize(("name", "make", "title", "heading"), PAGES,
                         ids=[page[0] for page in PAGES])
def test_an_edit_page_says_what_kind_of_thing_it_edits(
    client_for, admin_user, name, make, title, heading
):
    page = client_for(admin_user).get(reverse(name, args=[make().pk]))

    html = page.content.decode()
    assert page.status_code == 200
    assert f"<title>{title} · Callboard</title>" in html
    [h1] = re.findall(r"<h1[^>]*>(.*?)</h1>", html, flags=re.S)
    # The NCCO editor's heading goes on with pills (its kind, its version).
    assert _words(h1).startswith(heading or title)
