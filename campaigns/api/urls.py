from django.urls import path

from campaigns.api import views

urlpatterns = [
    path("campaigns", views.CampaignListCreateApi.as_view(), name="api_campaigns"),
    path("campaigns/<id:pk>", views.CampaignDetailApi.as_view(), name="api_campaign"),
    path(
        "campaigns/<id:pk>/contacts",
        views.CampaignContactsApi.as_view(),
        name="api_campaign_contacts",
    ),
    path(
        "campaigns/<id:pk>/imports/<id:import_id>",
        views.CampaignImportApi.as_view(),
        name="api_campaign_import",
    ),
    path(
        "campaigns/<id:pk>/preview", views.CampaignPreviewApi.as_view(), name="api_campaign_preview"
    ),
    path("campaigns/<id:pk>/board", views.CampaignBoardApi.as_view(), name="api_campaign_board"),
    path(
        "campaigns/<id:pk>/results", views.CampaignResultsApi.as_view(), name="api_campaign_results"
    ),
    path(
        "campaigns/<id:pk>/rehearse",
        views.CampaignRehearseApi.as_view(),
        name="api_campaign_rehearse",
    ),
    # Copy (delete is DELETE on api_campaign).
    path("campaigns/<id:pk>/copy", views.CampaignCopyApi.as_view(), name="api_campaign_copy"),
    *[
        path(f"campaigns/<id:pk>/{action}", view.as_view(), name=f"api_campaign_{action}")
        for action, view in views.ACTION_VIEWS.items()
    ],
    path(
        "suppression-lists",
        views.SuppressionListListCreateApi.as_view(),
        name="api_suppression_lists",
    ),
    path(
        "suppression-lists/<id:pk>",
        views.SuppressionListDetailApi.as_view(),
        name="api_suppression_list",
    ),
    path(
        "suppression-lists/<id:pk>/numbers",
        views.SuppressionListNumbersApi.as_view(),
        name="api_suppression_list_numbers",
    ),
    path(
        "suppression-lists/<id:pk>/numbers/<str:number>",
        views.SuppressionListNumberApi.as_view(),
        name="api_suppression_list_number",
    ),
]
