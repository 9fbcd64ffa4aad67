from django.urls import path

from voiceapps.ncco import views

urlpatterns = [
    path("", views.ncco_list, name="ncco_list"),
    path("new/", views.ncco_create, name="ncco_create"),
    path("<int:pk>/", views.ncco_edit, name="ncco_edit"),
    path("<int:pk>/history/", views.ncco_history, name="ncco_history"),
    path("<int:pk>/versions/<int:number>/", views.ncco_version, name="ncco_version"),
    path("<int:pk>/versions/<int:number>/restore/", views.ncco_restore, name="ncco_restore"),
    path("<int:pk>/delete/", views.ncco_delete, name="ncco_delete"),
]
