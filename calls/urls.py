from django.urls import path

from calls.hooks import answer, events
from calls.views import (
    call_detail,
    control,
    dashboard,
    deliveries,
    log,
    place,
    profiles,
    test_call,
)
from voiceapps.hooks import (
    ANSWER_ROUTE,
    EVENTS_ROUTE,
    MENU_ROUTE,
    TRANSFER_ROUTE,
    VOICEGATEWAY_ROUTE,
)

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("live", dashboard.dashboard_live, name="dashboard_live"),
    path("calls/", log.call_list, name="call_list"),
    path("calls/live", log.call_list_live, name="call_list_live"),
    path("calls/export.csv", log.call_list_csv, name="call_list_csv"),
    path("calls/deliveries/", deliveries.delivery_list, name="delivery_list"),
    path("calls/deliveries/live", deliveries.delivery_list_live, name="delivery_list_live"),
    path(
        "calls/deliveries/<id:pk>/replay", deliveries.delivery_replay_view, name="delivery_replay"
    ),
    path("calls/new", place.call_new, name="call_new"),
    path("calls/test-call", test_call.test_call, name="test_call"),
    # Its address before it moved here from the sandbox, kept for bookmarks and scripts.
    path("sandbox/test-call", test_call.test_call, name="sandbox_test_call"),
    path("calls/<id:pk>/", call_detail.call_detail, name="call_detail"),
    path("calls/<id:pk>/live", call_detail.call_detail_live, name="call_detail_live"),
    path("calls/<id:pk>/control/<str:action>", control.call_control_view, name="call_control"),
    path("calls/profiles/", profiles.call_profile_list, name="call_profile_list"),
    path("calls/profiles/new", profiles.call_profile_create, name="call_profile_create"),
    path("calls/profiles/<id:pk>/", profiles.call_profile_edit, name="call_profile_edit"),
    path("calls/profiles/<id:pk>/delete", profiles.call_profile_delete, name="call_profile_delete"),
    path(ANSWER_ROUTE, answer.answer, name="hook_answer"),
    path(MENU_ROUTE, answer.menu, name="hook_menu"),
    path(TRANSFER_ROUTE, answer.transfer, name="hook_transfer"),
    path(EVENTS_ROUTE, events.events_hook, name="hook_events"),
    path(VOICEGATEWAY_ROUTE, events.voicegateway_hook, name="hook_voicegateway"),
]
