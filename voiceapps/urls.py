from django.urls import include, path

urlpatterns = [
    path("nccos/", include("voiceapps.ncco.urls")),
]
