from django.urls import path

from voiceapps.ncco.api.views import (
    NccoDetailApi,
    NccoDiffApi,
    NccoListApi,
    NccoRenderApi,
    NccoValidateApi,
    NccoVersionDetailApi,
    NccoVersionListApi,
    NccoVersionRestoreApi,
)

urlpatterns = [
    path("ncco/validate", NccoValidateApi.as_view(), name="api_ncco_validate"),
    path("ncco/render", NccoRenderApi.as_view(), name="api_ncco_render"),
    path("nccos", NccoListApi.as_view(), name="api_nccos"),
    path("nccos/<id:pk>", NccoDetailApi.as_view(), name="api_ncco"),
    path("nccos/<id:pk>/diff", NccoDiffApi.as_view(), name="api_ncco_diff"),
    path("nccos/<id:pk>/versions", NccoVersionListApi.as_view(), name="api_ncco_versions"),
    path("nccos/<id:pk>/versions/<id:number>", NccoVersionDetailApi.as_view(),
         name="api_ncco_version"),
    path("nccos/<id:pk>/versions/<id:number>/restore", NccoVersionRestoreApi.as_view(),
         name="api_ncco_restore"),
]
