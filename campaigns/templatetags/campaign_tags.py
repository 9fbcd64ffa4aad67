"""How campaigns look on pages: the campaign page's contacts table, its rows rendered in
Python, the campaigns list's status pills, and the campaign a call page names."""

from collections.abc import Iterable
from html import escape

from django import template
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from calls.models import Call
from campaigns import selectors
from campaigns.models import Attempt, CampaignStatus, Contact, ContactState, Outcome, SkipReason
from voiceapps import phone

register = template.Library()

# Each cell names its column (`data-label`): on a phone the table is stacked (a card a row).
ROW = (
    '<tr><td data-label="Row">{}</td><td data-label="Number"{}>{}</td>'
    '<td data-label="Time zone">{}{}</td>'
    '<td class="prose" data-label="State" data-field="state-{}">{}{}</td>'
    '<td data-label="Outcome" data-field="outcome-{}">{}</td><td data-label="Attempts">{}</td>'
    '</tr>\n'
)
# A number as people read it ("+44 7700 900000") stays on one line, as in the call log: split
# at its spaces on a phone it reads as three numbers. A raw value (a refused row) may wrap.
# The state, with a refused row's reason, is sentences: a readable width (.prose) on a phone.
NUMBER_CELL = ' class="nowrap"'
UNCERTAIN = (
    ' <span class="muted">(<abbr title="The number does not tell its time zone for sure: it may'
    " be in several, or in none known, and then the campaign's default time zone is used. It is"
    ' called only while a calling window is open in every zone listed.">uncertain</abbr>)</span>'
)
PROBLEM = '<br><span class="muted small">{}</span>'
# The choices' labels, escaped once (each is a constant): a row escapes only what it read.
STATE_LABELS = {code: escape(label) for code, label in ContactState.choices}
SKIP_LABELS = {code: escape(label) for code, label in SkipReason.choices}
OUTCOME_LABELS = {"": "", **{code: escape(label) for code, label in Outcome.choices}}
# A call id no URL holds otherwise, to find where the id goes in a call's URL.
_CALL_ID_MARK = 987654321987


@register.simple_tag
def contact_rows(contacts: Iterable[Contact]) -> SafeString:
    """The rows of a page of `campaign_contacts_table`. Through the template language, 50 rows
    took most of the page's CPU (about 900 variable lookups, every number and choice label
    formatted on the way); a format string a row costs a fraction of that. Each value the
    row read is escaped with `html.escape` (`format_html`'s conditional escape, lazy-aware,
    was about 550 calls a page), and the calls' URLs are reversed once a table, not once an
    attempt."""
    call_url = reverse("call_detail", args=[_CALL_ID_MARK]).replace(str(_CALL_ID_MARK), "{}")
    return mark_safe("".join(_row(contact, call_url) for contact in contacts))


def _row(contact: Contact, call_url: str) -> str:
    state = STATE_LABELS[contact.state]
    if contact.on_do_not_call:  # the board counts these apart from those to call
        state = "Will be skipped: on a do-not-call list"
    elif contact.no_window:
        state = "Will be skipped: outside every window before the end"
    elif contact.skip_reason:
        state = f"{state}: {SKIP_LABELS[contact.skip_reason]}"
    attempts = ", ".join(_attempt(attempt, call_url) for attempt in contact.table_attempts)
    return ROW.format(
        contact.row or "API",
        NUMBER_CELL if contact.e164 else "",
        escape(phone.international(contact.e164) if contact.e164 else contact.raw_number),
        escape(", ".join(contact.timezones)),
        UNCERTAIN if contact.timezone_ambiguous else "",
        contact.pk,
        state,
        PROBLEM.format(escape(contact.problem)) if contact.problem else "",
        contact.pk,
        OUTCOME_LABELS[contact.outcome],
        attempts,
    )


def _attempt(attempt: Attempt, call_url: str) -> str:
    """The attempt as "#2 Busy", its number linked to its call's page when it has one, as HTML."""
    outcome = OUTCOME_LABELS[attempt.outcome]
    if attempt.call_id is None:
        return f"#{attempt.number} {outcome}"
    return f'<a href="{call_url.format(attempt.call_id)}">#{attempt.number}</a> {outcome}'


# A campaign status's `.pill` class, in the call log's colours: calling is "info" as a call
# in progress is, a finished campaign "ok" as a completed call, a stopped one "bad".
STATUS_PILLS = {CampaignStatus.DRAFT: "muted", CampaignStatus.RUNNING: "info",
                CampaignStatus.PAUSED: "warn", CampaignStatus.STOPPED: "bad",
                CampaignStatus.FINISHED: "ok"}


@register.filter
def campaign_pill(status: str) -> str:
    """The `.pill` modifier class of a campaign status."""
    return STATUS_PILLS.get(status, "muted")


@register.simple_tag
def campaign_attempt(call: Call) -> Attempt | None:
    """The campaign attempt that placed `call`, for its page's summary: calls' template names
    the tag, calls' Python never imports campaigns."""
    return selectors.call_attempt(call_id=call.pk)
