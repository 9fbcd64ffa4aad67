"""What the API's list and object endpoints share: list, create; read, change, delete.

ListApi is a list (`/api/v1/<things>`): GET pages the queryset, filtered by `filterset_class`
if it has one, through `serializer_class`; its API reference says so with `list_summary`.
CreateMixin gives a ListApi its POST: the body (`create_serializer_class`, a StrictSerializer)
goes to `create`, and the object made is answered 201 through `serializer_class`, with its
address (the route `created_route`) as `Location`.
ObjectApi is one object of a list (`/api/v1/<things>/<pk>`): GET shows it (`serializer_class`),
PATCH hands the fields given (`update_serializer_class`, a StrictSerializer) to `change` and
shows the object again, DELETE hands it to `remove` (a subclass whose delete can be refused
while something still needs the object says why in `refused_delete`, its documented 409).
`create`, `change` and `remove` call the pages' services, which check and audit, so the API and
the pages cannot drift apart. The API reference of each method follows from the same class
attributes, with the `summaries` a subclass gives."""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.mixins import ListModelMixin
from rest_framework.response import Response

from portal.api.responses import location
from portal.api.schema import api_error
from portal.api.serializers import read_body
from portal.services import Actor


# No docstring: drf-spectacular would show an inherited one as every endpoint's description.
class ListApi(ListModelMixin, GenericAPIView):
    list_summary: str  # the API reference's line for "get"
    tags: list[str] | None = None  # None: the reference files it under its URL

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        extend_schema_view(
            get=extend_schema(tags=cls.tags, responses=cls.serializer_class(many=True),
                              summary=cls.list_summary),
        )(cls)

    def get(self, request, *args: Any, **kwargs: Any):
        return self.list(request)


# A ListApi's POST: `class ThingListCreateApi(CreateMixin, ListApi)`. No docstring, as ListApi.
class CreateMixin:
    create_serializer_class: type[serializers.Serializer]
    create_summary: str  # the API reference's line for "post"
    create_refusals: dict[int, Any] = {}  # documented answers besides 201 (e.g. a 409)
    created_route: str  # the route of one object, for the answer's Location

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        extend_schema_view(
            post=extend_schema(tags=cls.tags, request=cls.create_serializer_class,
                               responses={201: cls.serializer_class, **cls.create_refusals},
                               summary=cls.create_summary),
        )(cls)

    def create(self, actor: Actor, values: dict[str, Any]) -> Model:
        raise NotImplementedError

    def post(self, request, *args: Any, **kwargs: Any):
        values = dict(read_body(self.create_serializer_class, request))
        made = self.create(Actor.from_request(request), values)
        return Response(self.get_serializer(made).data, status=status.HTTP_201_CREATED,
                        headers=location(request, self.created_route, made.pk))


class ObjectApi(GenericAPIView):
    update_serializer_class: type[serializers.Serializer]
    summaries: dict[str, str]  # the API reference's line for "get", "patch" and "delete"
    tags: list[str] | None = None  # None: the reference files it under its URL
    refused_delete = ""  # when `remove` refuses (portal.services.InUse): the 409's description

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        extend_schema_view(
            get=extend_schema(tags=cls.tags, responses=cls.serializer_class,
                              summary=cls.summaries["get"]),
            patch=extend_schema(tags=cls.tags, request=cls.update_serializer_class,
                                responses=cls.serializer_class, summary=cls.summaries["patch"]),
            delete=extend_schema(
                tags=cls.tags, summary=cls.summaries["delete"],
                responses={204: None, **({409: api_error(cls.refused_delete)}
                                         if cls.refused_delete else {})}),
        )(cls)

    def change(self, actor: Actor, obj: Model, values: dict[str, Any]) -> None:
        raise NotImplementedError

    def remove(self, actor: Actor, obj: Model) -> None:
        raise NotImplementedError

    def get(self, request, pk: int):
        return Response(self.get_serializer(self.get_object()).data)

    def patch(self, request, pk: int):
        obj = self.get_object()
        values = dict(read_body(self.update_serializer_class, request))
        self.change(Actor.from_request(request), obj, values)
        return Response(self.get_serializer(obj).data)

    def delete(self, request, pk: int):
        self.remove(Actor.from_request(request), self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
