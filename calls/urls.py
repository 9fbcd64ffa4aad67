from django.urls import path

from calls import answer, control_views, dashboard, deliveries, log, views, webhooks
from voiceapps.hooks import ANSWER_ROUTE, EVENTS_ROUTE, VOICEGATEWAY_ROUTE
from voiceapps.ncco.services import MENU_ROUTE

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("calls/", log.call_list, name="call_list"),
    path("calls/live", log.call_list_live, name="call_list_live"),
    path("calls/export.csv", log.call_list_csv, name="call_list_csv"),
    path("calls/deliveries/", deliveries.delivery_list, name="delivery_list"),
    path("calls/deliveries/<id:pk>/replay", deliveries.delivery_replay_view,
         name="delivery_replay"),
    path("calls/new", views.call_new, name="call_new"),
    path("calls/<id:pk>/", views.call_detail, name="call_detail"),
    path("calls/<id:pk>/control/<str:action>", control_views.call_control_view,
         name="call_control"),
    path("calls/profiles/", views.call_profile_list, name="call_profile_list"),
    path("calls/profiles/new", views.call_profile_create, name="call_profile_create"),
    path("calls/profiles/<id:pk>/", views.call_profile_edit, name="call_profile_edit"),
    path("calls/profiles/<id:pk>/delete", views.call_profile_delete,
         name="call_profile_delete"),
    path(ANSWER_ROUTE, answer.answer, name="hook_answer"),
    path(MENU_ROUTE, answer.menu, name="hook_menu"),
    path(EVENTS_ROUTE, webhooks.events_hook, name="hook_events"),
    path(VOICEGATEWAY_ROUTE, webhooks.voicegateway_hook, name="hook_voicegateway"),
]
