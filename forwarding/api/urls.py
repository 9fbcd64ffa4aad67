from django.urls import path

from forwarding.api import views

urlpatterns = [
    path(
        "forwarding/subscriptions",
        views.SubscriptionListCreateApi.as_view(),
        name="api_forwarding_subscriptions",
    ),
    path(
        "forwarding/subscriptions/<id:pk>",
        views.SubscriptionDetailApi.as_view(),
        name="api_forwarding_subscription",
    ),
    path(
        "forwarding/subscriptions/<id:pk>/secret",
        views.SubscriptionSecretApi.as_view(),
        name="api_forwarding_subscription_secret",
    ),
    path(
        "forwarding/subscriptions/<id:pk>/deliveries",
        views.SubscriptionDeliveriesApi.as_view(),
        name="api_forwarding_subscription_deliveries",
    ),
    path(
        "forwarding/subscriptions/<id:pk>/replay",
        views.SubscriptionReplayApi.as_view(),
        name="api_forwarding_subscription_replay",
    ),
    path(
        "forwarding/deliveries/<id:pk>/replay",
        views.DeliveryReplayApi.as_view(),
        name="api_forwarding_delivery_replay",
    ),
]
