from django.urls import path

from campaigns import views

urlpatterns = [
    path("campaigns/", views.campaign_list, name="campaign_list"),
    path("campaigns/table", views.campaign_list_live, name="campaign_list_live"),
    path("campaigns/new", views.campaign_create, name="campaign_create"),
    path("campaigns/<id:pk>/", views.campaign_detail, name="campaign_detail"),
    path("campaigns/<id:pk>/edit", views.campaign_edit, name="campaign_edit"),
    path("campaigns/<id:pk>/board", views.campaign_board_live, name="campaign_board_live"),
    path(
        "campaigns/<id:pk>/contact-table",
        views.campaign_contacts_live,
        name="campaign_contacts_live",
    ),
    path("campaigns/<id:pk>/contacts", views.campaign_upload, name="campaign_upload"),
    path("campaigns/<id:pk>/preview", views.campaign_preview_page, name="campaign_preview"),
    path("campaigns/<id:pk>/results.csv", views.campaign_results_csv, name="campaign_results_csv"),
    path("campaigns/<id:pk>/rehearse", views.campaign_rehearse, name="campaign_rehearse"),
    # Copy and delete: before the actions' catch-all below.
    path("campaigns/<id:pk>/copy", views.campaign_copy, name="campaign_copy"),
    path("campaigns/<id:pk>/delete", views.campaign_delete, name="campaign_delete"),
    path("campaigns/<id:pk>/<str:action>", views.campaign_action, name="campaign_action"),
    path("campaigns/do-not-call/", views.suppression_list_list, name="suppression_list_list"),
    path(
        "campaigns/do-not-call/<id:pk>/",
        views.suppression_list_detail,
        name="suppression_list_detail",
    ),
    path(
        "campaigns/do-not-call/<id:pk>/remove",
        views.suppression_list_number_remove,
        name="suppression_list_number_remove",
    ),
]
