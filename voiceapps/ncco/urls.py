from django.urls import path

from voiceapps.ncco import views

urlpatterns = [
    path("", views.ncco_list, name="ncco_list"),
    path("new/", views.ncco_create, name="ncco_create"),
    path("<id:pk>/", views.ncco_edit, name="ncco_edit"),
    path("<id:pk>/history/", views.ncco_history, name="ncco_history"),
    path("<id:pk>/versions/<id:number>/", views.ncco_version, name="ncco_version"),
    path("<id:pk>/versions/<id:number>/restore/", views.ncco_restore, name="ncco_restore"),
    path("<id:pk>/delete/", views.ncco_delete, name="ncco_delete"),
]
