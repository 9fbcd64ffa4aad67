from django.urls import path

from calls import views, webhooks
from voiceapps.hooks import EVENTS_ROUTE, VOICEGATEWAY_ROUTE

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path(EVENTS_ROUTE, webhooks.events_hook, name="hook_events"),
    path(VOICEGATEWAY_ROUTE, webhooks.voicegateway_hook, name="hook_voicegateway"),
]
