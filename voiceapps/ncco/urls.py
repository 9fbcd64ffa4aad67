from portal.routing import view_path
from voiceapps.ncco import views

urlpatterns = [
    view_path("", views.ncco_list),
    view_path("new/", views.ncco_create),
    view_path("<id:pk>/", views.ncco_edit),
    view_path("<id:pk>/history/", views.ncco_history),
    view_path("<id:pk>/versions/<id:number>/", views.ncco_version),
    view_path("<id:pk>/versions/<id:number>/restore/", views.ncco_restore),
    view_path("<id:pk>/delete/", views.ncco_delete),
]
