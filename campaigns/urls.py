from django.urls import path

from campaigns import views
from portal.routing import view_path

urlpatterns = [
    view_path("campaigns/", views.campaign_list),
    view_path("campaigns/table", views.campaign_list_live),
    view_path("campaigns/new", views.campaign_create),
    view_path("campaigns/<id:pk>/", views.campaign_detail),
    view_path("campaigns/<id:pk>/edit", views.campaign_edit),
    view_path("campaigns/<id:pk>/board", views.campaign_board_live),
    view_path("campaigns/<id:pk>/contact-table", views.campaign_contacts_live),
    view_path("campaigns/<id:pk>/contacts", views.campaign_upload),
    path("campaigns/<id:pk>/preview", views.campaign_preview_page, name="campaign_preview"),
    view_path("campaigns/<id:pk>/results.csv", views.campaign_results_csv),
    view_path("campaigns/<id:pk>/rehearse", views.campaign_rehearse),
    # Copy and delete: before the actions' catch-all below.
    view_path("campaigns/<id:pk>/copy", views.campaign_copy),
    view_path("campaigns/<id:pk>/delete", views.campaign_delete),
    view_path("campaigns/<id:pk>/<str:action>", views.campaign_action),
    view_path("campaigns/do-not-call/", views.suppression_list_list),
    view_path("campaigns/do-not-call/<id:pk>/", views.suppression_list_detail),
    view_path("campaigns/do-not-call/<id:pk>/remove", views.suppression_list_number_remove),
]
