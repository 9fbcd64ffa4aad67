"""Reads of campaigns: the preview before launch, the board's figures, results rows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    TextChoices,
    Value,
    When,
)
from django.template.defaultfilters import pluralize
from django.utils import timezone

from calls.models import Call, CallStatus
from campaigns import windows
from campaigns.models import (
    Attempt,
    AttemptStatus,
    Campaign,
    CampaignStatus,
    Contact,
    ContactState,
    HeldBack,
    Outcome,
    SkipReason,
    SuppressionList,
)
from campaigns.services.suppression import on_do_not_call

WILL_CALL = "will_call"


@dataclass
class Preview:
    will_call: int
    skipped: Counter  # SkipReason -> contacts
    contacts: QuerySet[Contact]  # each with its `verdict`: a SkipReason or WILL_CALL

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    @property
    def total(self) -> int:
        return self.will_call + self.skipped_total

    def skipped_by_reason(self) -> list[tuple[str, int]]:
        return [(SkipReason(reason).label, count) for reason, count in self.skipped.items()]

    def skipped_words(self) -> str:
        """The skipped in a phrase: "2 invalid number, 1 do-not-call"."""
        return ", ".join(f"{count} {label.lower()}" for label, count in self.skipped_by_reason())


# A contact in these states is called when its turn comes, unless its number is then on a
# do-not-call list (checked before every dial) or no window opens for it before the end.
WAITING = (ContactState.PENDING, ContactState.RETRY)


def _zones_without_window(campaign: Campaign, zone_sets: Iterable[Iterable[str]],
                          now: datetime) -> set[tuple[str, ...]]:
    """Those of `zone_sets` in all of whose zones no window of the campaign opens from `now`
    (its start, if later) before its end: one window search per set, not one per contact."""
    never = set()
    for zones in zone_sets:
        opens = windows.next_open(campaign.windows, list(zones), max(now, campaign.starts_at))
        if opens is None or (campaign.ends_at is not None and opens >= campaign.ends_at):
            never.add(tuple(zones))
    return never


def _no_window(campaign: Campaign, zone_sets: Iterable[Iterable[str]], now: datetime) -> Q:
    """The campaign's waiting contacts for whom no window opens in all their zones from `now`
    (its start, if later) before its end, of those whose zones are among `zone_sets`; an empty
    Q if none. The scheduler skips them (no window) when it reaches them, or at the end; the
    preview, the board and the list count them skipped from now (docs/decisions.md,
    boardcount). The window search runs once per set of zones (_zones_without_window); each
    reader has the sets from a query it makes anyway, or one query."""
    never = Q()
    for zones in _zones_without_window(campaign, zone_sets, now):
        never |= Q(timezones=list(zones))
    return Q(campaign_id=campaign.pk, state__in=WAITING) & never if never else Q()


def campaign_preview(*, campaign: Campaign, now: datetime | None = None) -> Preview:
    """Who will be called and who skipped, and why, if the campaign started now: each
    contact's verdict is worked out by the database, counted there and streamed from there,
    so 100,000 contacts are never loaded at once."""
    contacts = campaign.contacts.exclude(state=ContactState.DONE)
    verdicts = [
        When(~Q(skip_reason=""), then=F("skip_reason")),
        When(
            on_do_not_call(campaign.account_id), then=Value(SkipReason.SUPPRESSED),
        ),
    ]
    zone_sets = (contacts.filter(state__in=WAITING).order_by()
                 .values_list("timezones", flat=True).distinct())
    outside = _no_window(campaign, zone_sets, now or timezone.now())
    if outside:
        verdicts.append(When(outside, then=Value(SkipReason.NO_WINDOW)))
    annotated = contacts.annotate(
        verdict=Case(*verdicts, default=Value(WILL_CALL), output_field=CharField())
    )
    counts = dict(annotated.order_by().values_list("verdict").annotate(n=Count("id")))
    return Preview(
        will_call=counts.pop(WILL_CALL, 0),
        skipped=Counter({reason: counts[reason] for reason in SkipReason if reason in counts}),
        contacts=annotated.order_by("id"),
    )


class Progress:
    """How far a campaign's calling is, from its contacts counted by state (`total`,
    `by_state`) and those waiting that will be skipped when reached: their number is on a
    do-not-call list now (`do_not_call`), or no window opens for them before the end
    (`no_window`, those on a list not counted again). The board's figures and the campaigns
    list's progress bars read the same."""

    total: int
    by_state: dict[str, int]
    do_not_call: int
    no_window: int

    @property
    def skipped(self) -> int:
        return self.by_state.get(ContactState.SKIPPED, 0)

    @property
    def done(self) -> int:
        """Contacts whose calling is over: a final outcome, or no retry left."""
        return self.by_state.get(ContactState.DONE, 0)

    @property
    def to_call(self) -> int:
        """Contacts the campaign calls: all but the skipped, who are never called, and those
        waiting that will be skipped when reached (the preview counts them skipped too)."""
        return self.total - self.skipped - self.do_not_call - self.no_window

    @property
    def finished_percent(self) -> int:
        """Of the contacts to call, the share whose calling is over (a final outcome, or no
        retry left); skipped contacts are counted apart, not as work done (docs/decisions.md)."""
        return round(100 * self.done / self.to_call) if self.to_call else 0


@dataclass
class Board(Progress):
    campaign: Campaign
    total: int
    by_state: dict[str, int]
    outcomes: dict[str, int]
    attempts: int
    in_progress: int
    next_retries: list[Contact]
    pace_achieved: float  # calls per second over the last minute of dialing
    # The account's calls waiting to be sent, read while the campaign runs. A default, as a
    # reading cached by the release before (up to BOARD_PREVIOUS_SECONDS) has none.
    waiting: int = 0
    do_not_call: int = 0  # the same
    no_window: int = 0  # the same

    @property
    def outcome_labels(self) -> list[tuple[str, int]]:
        """(what people read, contacts) for each outcome so far."""
        return [(Outcome(code).label, count) for code, count in self.outcomes.items()]

    def figures(self) -> dict[str, Any]:
        """Everything but the campaign, which each reader has loaded fresh (its status)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "campaign"}

    @property
    def held_back(self) -> str:
        """What keeps a running campaign below its pace (HeldBack), as the scheduler's last
        tick found; "" at its pace or when not running (a paused campaign keeps its last)."""
        return self.campaign.held_back if self.campaign.status == CampaignStatus.RUNNING else ""

    @property
    def held_back_text(self) -> str:
        """The reason in a sentence, for people; "" when there is none."""
        cap = self.campaign.max_concurrent
        return {
            HeldBack.CAP: f"Held back by its concurrency cap: at most {cap} call{pluralize(cap)} "
            "in progress at once.",
            HeldBack.ACCOUNT_QUEUE: f"Held back by its account: {self.waiting} "
            f"call{pluralize(self.waiting)} waiting to be sent. The account's calls-per-second "
            "limit is shared with its single calls and other campaigns, or too few workers are "
            "sending (docs/operations.md, “Sending waits on the provider”).",
            HeldBack.FEW_DUE: "Fewer contacts are due than its pace allows: the others are "
            "being called or wait for a retry or for their calling window.",
        }.get(self.held_back, "")


PACE_SPAN = timedelta(minutes=1)


# Every viewer of a campaign (its page, the board it polls, the API) shares one reading of
# the board for this long: at 100,000 contacts a reading costs a few hundred ms of database
# time, and a board that updates every second needs no fresher figures.
BOARD_FRESH_SECONDS = 1.0
# While one request reads the board anew, the others are given the previous reading (kept
# this long) instead of each reading it too: at 100,000 contacts on a loaded server a reading
# took longer than the second it stays fresh, so every poll read it and the server saturated.
BOARD_PREVIOUS_SECONDS = 30.0
# How long a request's claim to read it lasts: one that failed frees it after this.
BOARD_READING_SECONDS = 10.0


def board_cache_key(campaign: Campaign) -> str:
    """The board's reading in the cache; it names the campaign's row by its creation too, so
    a reused id never reads another's."""
    return f"campaign-board:{campaign.pk}:{campaign.created_at.timestamp()}"


def campaign_board_forget(*, campaign: Campaign) -> None:
    """Contacts were added: the page the person is sent to shows them, not the reading of a
    second ago beside "4 contacts added (see the contacts list)"; nor does the list."""
    cache.delete_many([board_cache_key(campaign), progress_cache_key(campaign)])


def campaigns_forget_on_commit(*, campaigns: Iterable[Campaign]) -> None:
    """The campaigns' figures or status change in the transaction under way: their readings
    (campaign_board_forget) are forgotten once it commits (at once outside one), so the next
    poll reads them anew. Not before: a reading taken between the two would be kept with the
    old figures, for PROGRESS_SETTLED_SECONDS in the list of a campaign not running."""
    for campaign in campaigns:
        transaction.on_commit(partial(campaign_board_forget, campaign=campaign))


def campaigns_settled_forget_on_commit(*, campaign_ids: Iterable[int]) -> None:
    """Calls of these campaigns settled in the transaction under way: once it commits, the
    readings of those not running then are forgotten (a running one's last a second anyway).
    Their status is read after the commit, not with the calls: a pause committed in between
    had forgotten the readings before these figures changed, and the list's next reading of
    the paused campaign, with the calls still in progress, would have been kept
    PROGRESS_SETTLED_SECONDS."""
    ids = set(campaign_ids)
    if ids:
        transaction.on_commit(partial(_forget_not_running, ids))


def _forget_not_running(ids: set[int]) -> None:
    for campaign in (Campaign.objects.filter(pk__in=ids).exclude(status=CampaignStatus.RUNNING)
                     .only("pk", "created_at")):
        campaign_board_forget(campaign=campaign)


def campaign_board(*, campaign: Campaign, now: datetime | None = None) -> Board:
    """The board's figures, read at most once a BOARD_FRESH_SECONDS per campaign, by one
    request at a time."""
    if now is not None:
        return _board_read(campaign, now)
    key = board_cache_key(campaign)
    figures = cache.get(key)
    if figures is None:
        previous = cache.get(f"{key}:previous")
        if previous is not None and not cache.add(f"{key}:reading", 1, BOARD_READING_SECONDS):
            return Board(campaign=campaign, **previous)  # another request is reading it
        figures = _board_read(campaign, timezone.now()).figures()
        cache.set(key, figures, BOARD_FRESH_SECONDS)
        cache.set(f"{key}:previous", figures, BOARD_PREVIOUS_SECONDS)
        cache.delete(f"{key}:reading")
    return Board(campaign=campaign, **figures)


@dataclass
class ListProgress(Progress):
    """A row of the campaigns list: its progress and its calls in progress."""

    total: int
    by_state: dict[str, int]
    in_progress: int
    # A list reading cached by a release before has none.
    do_not_call: int = 0
    no_window: int = 0


# A campaign that is not running changes slowly (an upload, the last calls of a paused one
# ending): the list's reading of it is shared this long; a running one's, BOARD_FRESH_SECONDS.
# What changes it (an upload, a pause, resume, stop or finish, a call of a campaign not running
# ending) forgets it (campaigns_forget_on_commit), so the list shows that at its next poll.
PROGRESS_SETTLED_SECONDS = 10.0


def progress_cache_key(campaign: Campaign) -> str:
    return f"campaign-progress:{campaign.pk}:{campaign.created_at.timestamp()}"


def campaigns_progress(*, campaigns: list[Campaign]) -> dict[int, ListProgress]:
    """Each campaign's progress (by id), in a number of queries that does not grow with the
    campaigns: a board read within the last second (its page is open) or the list's own
    reading, shared by every viewer as the board's is, else one grouped count of the others'
    contacts by state and one of their attempts in progress."""
    boards = {board_cache_key(campaign): campaign for campaign in campaigns}
    readings = {progress_cache_key(campaign): campaign for campaign in campaigns}
    cached = cache.get_many([*boards, *readings]) if campaigns else {}
    found: dict[int, ListProgress] = {}
    for key, campaign in readings.items():
        if key in cached:
            found[campaign.pk] = ListProgress(**cached[key])
    for key, campaign in boards.items():  # a board's reading is the fresher
        if key in cached:
            figures = cached[key]
            found[campaign.pk] = ListProgress(total=figures["total"],
                                              by_state=figures["by_state"],
                                              in_progress=figures["in_progress"],
                                              do_not_call=figures.get("do_not_call", 0),
                                              no_window=figures.get("no_window", 0))
    missing = [campaign for campaign in campaigns if campaign.pk not in found]
    if missing:
        read = _progress_read(missing, timezone.now())
        for running in (True, False):
            cache.set_many(
                {progress_cache_key(campaign): vars(read[campaign.pk]) for campaign in missing
                 if (campaign.status == CampaignStatus.RUNNING) == running},
                BOARD_FRESH_SECONDS if running else PROGRESS_SETTLED_SECONDS,
            )
        found.update(read)
    return found


def campaigns_with_progress(*, campaigns: list[Campaign]) -> None:
    """Gives each campaign its `progress` (campaigns_progress, read once for them all): the
    list page's rows and the API's campaigns."""
    progress = campaigns_progress(campaigns=campaigns)
    for campaign in campaigns:
        campaign.progress = progress[campaign.pk]


def _in_choice_order(counts: Mapping[str, int], choices: type[TextChoices]) -> dict[str, int]:
    """`counts` in the order `choices` declares its values (any other after them, sorted): a
    GROUP BY without ORDER BY gives its groups in any order (PostgreSQL's hash aggregate), and
    the board's digest and its outcomes table read these dicts in order, so the same figures
    read twice must make the same dict, or an unchanged board is sent again."""
    rank = {value: index for index, value in enumerate(choices.values)}
    return dict(sorted(counts.items(), key=lambda item: (rank.get(item[0], len(rank)), item[0])))


def _progress_read(campaigns: list[Campaign], now: datetime) -> dict[int, ListProgress]:
    """The campaigns' progress now: a few grouped counts, whatever the number of campaigns.
    The contacts are counted by their zones too, for the zone sets of those waiting."""
    ids = [campaign.pk for campaign in campaigns]
    read = {pk: ListProgress(total=0, by_state={}, in_progress=0) for pk in ids}
    zone_sets: dict[int, set[tuple[str, ...]]] = {pk: set() for pk in ids}
    for campaign_id, state, zones, contacts in (
        Contact.objects.filter(campaign_id__in=ids).order_by()
        .values_list("campaign_id", "state", "timezones").annotate(n=Count("id"))
    ):
        read[campaign_id].by_state[state] = read[campaign_id].by_state.get(state, 0) + contacts
        read[campaign_id].total += contacts
        if state in WAITING:
            zone_sets[campaign_id].add(tuple(zones))
    for campaign_id, calls in (
        Attempt.objects.filter(contact__campaign_id__in=ids, status=AttemptStatus.PLACED)
        .order_by().values_list("contact__campaign_id").annotate(n=Count("id"))
    ):
        read[campaign_id].in_progress = calls
    for campaign_id, listed in (
        Contact.objects.filter(campaign_id__in=ids, state__in=WAITING)
        .filter(on_do_not_call(OuterRef("campaign__account_id")))
        .order_by().values_list("campaign_id").annotate(n=Count("id"))
    ):
        read[campaign_id].do_not_call = listed
    outside = Q()
    for campaign in campaigns:
        outside |= _no_window(campaign, zone_sets[campaign.pk], now)
    if outside:
        for campaign_id, unreachable in (
            Contact.objects.filter(outside)
            .exclude(on_do_not_call(OuterRef("campaign__account_id")))
            .order_by().values_list("campaign_id").annotate(n=Count("id"))
        ):
            read[campaign_id].no_window = unreachable
    for progress in read.values():
        progress.by_state = _in_choice_order(progress.by_state, ContactState)
    return read


def pace_since(campaign: Campaign, now: datetime) -> datetime:
    """Where the pace achieved is counted from: PACE_SPAN ago, or since the campaign last
    began dialing (a start or resume) if that is later."""
    return max(now - PACE_SPAN, campaign.dialing_since or now - PACE_SPAN)


def pace_achieved(campaign: Campaign, made: int, now: datetime) -> float:
    """Calls a second: the `made` attempts since pace_since over the seconds from then to when
    the pace's next dial is due (now, if due already). The scheduler makes a tick's calls
    ahead of their turn, and its clock (`next_dial_at`) counts them: a few calls close
    together are not read as a burst (docs/decisions.md, camp1). The board and the metrics
    both read it."""
    seconds = (max(now, campaign.next_dial_at or now) - pace_since(campaign, now)).total_seconds()
    return made / seconds if made and seconds > 0 else 0.0


def _pace_shown(campaign: Campaign, attempts: QuerySet[Attempt], now: datetime) -> float:
    """pace_achieved with two decimals, as the pace set: with nothing dialed, the figure moves
    only while the span is shorter than PACE_SPAN (the first minute after a start), so an
    unchanged board stays unchanged between polls."""
    made = attempts.filter(created_at__gte=pace_since(campaign, now)).count()
    return round(pace_achieved(campaign, made, now), 2)


def _board_read(campaign: Campaign, now: datetime) -> Board:
    """The board's figures now. Contacts are read in one pass (state, outcome, attempts made
    and the zone sets of those waiting together); `order_by()` drops Contact's default
    ordering, whose join to the campaign every count paid for."""
    by_state: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    zone_sets: set[tuple[str, ...]] = set()
    attempts_made = 0
    for state, outcome, zones, contacts, attempts in (
        campaign.contacts.order_by()
        .values_list("state", "outcome", "timezones")
        .annotate(n=Count("id"), attempts=Sum("attempts_made"))
    ):
        by_state[state] += contacts
        if outcome:
            outcomes[outcome] += contacts
        if state in WAITING:
            zone_sets.add(tuple(zones))
        attempts_made += attempts or 0
    attempts = Attempt.objects.filter(contact__campaign=campaign).order_by()
    outside = _no_window(campaign, zone_sets, now)
    return Board(
        campaign=campaign,
        total=sum(by_state.values()),
        by_state=_in_choice_order(by_state, ContactState),
        outcomes=_in_choice_order(outcomes, Outcome),
        attempts=attempts_made,
        in_progress=attempts.filter(status=AttemptStatus.PLACED).count(),
        do_not_call=campaign.contacts.filter(state__in=WAITING)
        .filter(on_do_not_call(campaign.account_id)).order_by().count(),
        no_window=campaign.contacts.filter(outside).exclude(on_do_not_call(campaign.account_id))
        .order_by().count() if outside else 0,
        next_retries=list(
            campaign.contacts.filter(state=ContactState.RETRY).order_by("next_attempt_at")[:10]
        ),
        pace_achieved=_pace_shown(campaign, attempts, now),
        # Every queued call of the account, read only while the board may say why it is held
        # back; the scheduler leaves out those queued in the last 1.5 ticks (on their way).
        waiting=Call.objects.filter(
            account_id=campaign.account_id, status=CallStatus.QUEUED
        ).count()
        if campaign.status == CampaignStatus.RUNNING
        else 0,
    )


def campaign_contacts(*, campaign: Campaign) -> QuerySet[Contact]:
    """Contacts with their attempts, for the history and the results: one query for a page's
    attempts, not one per contact. The calls are linked by id alone, so they are not read."""
    # Attempt's default ordering, by contact, follows Contact's and Campaign's: two joins over
    # the campaign's contacts for each page's attempts (50 ms at 100,000 contacts before
    # PostgreSQL had their statistics). By id and number is the same order without them.
    attempts = Attempt.objects.order_by("contact_id", "number")
    return campaign.contacts.prefetch_related(Prefetch("attempts", queryset=attempts)).order_by(
        "id"
    )


def call_attempt(*, call_id: int) -> Attempt | None:
    """The campaign attempt that placed the call, with its contact and campaign; None for a
    call no campaign placed."""
    return (
        Attempt.objects.select_related("contact__campaign")
        .only("number", "contact__row", "contact__campaign__name")
        .filter(call_id=call_id)
        .first()
    )


# What the contacts table shows of a contact and of its attempts (the page reads no more);
# the campaign's id too, which the prefetch of the attempts reads.
TABLE_CONTACT_FIELDS = ("campaign_id", "row", "raw_number", "e164", "timezones",
                        "timezone_ambiguous", "state", "skip_reason", "problem", "outcome")
TABLE_ATTEMPT_FIELDS = ("contact_id", "number", "call_id", "outcome")


def campaign_contacts_table(*, campaign: Campaign) -> QuerySet[Contact]:
    """The campaign's contacts, each with its attempts as a list (`table_attempts`: a related
    manager's `.all()` builds a queryset per contact), only the columns the table shows (not
    a contact's variables, which a CSV may make large), and whether it waits with its number
    on a do-not-call list now (`on_do_not_call`: it will be skipped when reached)."""
    attempts = Attempt.objects.only(*TABLE_ATTEMPT_FIELDS).order_by("contact_id", "number")
    return (
        campaign.contacts.only(*TABLE_CONTACT_FIELDS)
        .annotate(on_do_not_call=ExpressionWrapper(
            Q(state__in=WAITING) & on_do_not_call(campaign.account_id),
            output_field=BooleanField()))
        .prefetch_related(Prefetch("attempts", queryset=attempts, to_attr="table_attempts"))
        .order_by("id")
    )


def contacts_with_no_window(*, campaign: Campaign, contacts: list[Contact]) -> None:
    """Gives each of `contacts` (a page of campaign_contacts_table) its `no_window`, as the
    board counts it: it waits, is not on a do-not-call list (counted there first) and no window
    opens in all its zones from now before the end. The window search is _no_window's, once
    per zone set of the page's waiting contacts, matched to the rows it has loaded: no query."""
    waiting = [contact for contact in contacts
               if contact.state in WAITING and not contact.on_do_not_call]
    never = _zones_without_window(campaign, {tuple(contact.timezones) for contact in waiting},
                                  timezone.now())
    for contact in contacts:
        contact.no_window = False
    for contact in waiting:
        contact.no_window = tuple(contact.timezones) in never


def suppression_lists() -> QuerySet[SuppressionList]:
    """The do-not-call lists by name, each with its account and how many numbers it holds
    (`numbers_count`), in one query for a page of them."""
    return (SuppressionList.objects.select_related("account")
            .annotate(numbers_count=Count("numbers")).order_by("name", "pk"))
