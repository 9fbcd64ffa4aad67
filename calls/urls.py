from django.urls import path

from calls import answer, views, webhooks
from voiceapps.hooks import ANSWER_ROUTE, EVENTS_ROUTE, VOICEGATEWAY_ROUTE
from voiceapps.ncco.services import MENU_ROUTE

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path(ANSWER_ROUTE, answer.answer, name="hook_answer"),
    path(MENU_ROUTE, answer.menu, name="hook_menu"),
    path(EVENTS_ROUTE, webhooks.events_hook, name="hook_events"),
    path(VOICEGATEWAY_ROUTE, webhooks.voicegateway_hook, name="hook_voicegateway"),
]
