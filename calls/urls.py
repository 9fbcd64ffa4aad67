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
from portal.routing import view_path
from voiceapps.hooks import (
    ANSWER_ROUTE,
    EVENTS_ROUTE,
    MENU_ROUTE,
    TRANSFER_ROUTE,
    VOICEGATEWAY_ROUTE,
)

urlpatterns = [
    view_path("", dashboard.dashboard),
    view_path("live", dashboard.dashboard_live),
    view_path("calls/", log.call_list),
    view_path("calls/live", log.call_list_live),
    view_path("calls/export.csv", log.call_list_csv),
    view_path("calls/deliveries/", deliveries.delivery_list),
    view_path("calls/deliveries/live", deliveries.delivery_list_live),
    path("calls/deliveries/<id:pk>/replay", deliveries.delivery_replay_view,
         name="delivery_replay"),
    view_path("calls/new", place.call_new),
    view_path("calls/test-call", test_call.test_call),
    # Its address before it moved here from the sandbox, kept for bookmarks and scripts.
    path("sandbox/test-call", test_call.test_call, name="sandbox_test_call"),
    view_path("calls/<id:pk>/", call_detail.call_detail),
    view_path("calls/<id:pk>/live", call_detail.call_detail_live),
    path("calls/<id:pk>/control/<str:action>", control.call_control_view, name="call_control"),
    view_path("calls/profiles/", profiles.call_profile_list),
    view_path("calls/profiles/new", profiles.call_profile_create),
    view_path("calls/profiles/<id:pk>/", profiles.call_profile_edit),
    view_path("calls/profiles/<id:pk>/delete", profiles.call_profile_delete),
    path(ANSWER_ROUTE, answer.answer, name="hook_answer"),
    path(MENU_ROUTE, answer.menu, name="hook_menu"),
    path(TRANSFER_ROUTE, answer.transfer, name="hook_transfer"),
    path(EVENTS_ROUTE, events.events_hook, name="hook_events"),
    path(VOICEGATEWAY_ROUTE, events.voicegateway_hook, name="hook_voicegateway"),
]
