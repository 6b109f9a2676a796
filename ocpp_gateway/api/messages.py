"""The message log through the API: every OCPP-J frame of the caller's chargers, in and out, as
the admin's "OCPP messages" shows them (S15: frames of another organization's chargers, or of
unknown charge point ids, are the platform's), newest first.

Cursor-paginated: the log grows by thousands of rows a second on a busy fleet, so a page
number would shift under a reader; a cursor (timestamp, id) stays put and costs one index
range scan whatever the depth."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination

from accounts.tenancy import scope_queryset
from common.api_filters import FilterSet, UtcIsoDateTimeFilter
from ocpp_gateway.models import MessageLog
from sites.models import Charger


class MessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = MessageLog
        fields = [
            "id", "charge_point_id", "connection_id", "direction", "message_type", "message_id", "action", "payload",
            "raw", "error_code", "error_description", "timestamp",
        ]  # fmt: skip
        read_only_fields = fields


class MessageFilter(FilterSet):
    since = UtcIsoDateTimeFilter(field_name="timestamp", lookup_expr="gte")
    until = UtcIsoDateTimeFilter(field_name="timestamp", lookup_expr="lt")
    action = filters.CharFilter(max_length=64)
    message_id = filters.CharFilter(max_length=64)

    class Meta:
        model = MessageLog
        fields = ["charge_point_id", "direction", "message_type", "action", "message_id"]


class MessageCursor(CursorPagination):
    """Newest first; ?page_size from 1 to 500 (refused otherwise, as the other lists do)."""

    ordering = ("-timestamp", "-id")
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request) -> int | None:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        size = int(raw) if raw.isdigit() else 0
        if not 1 <= size <= self.max_page_size:
            raise ValidationError({self.page_size_query_param: [f"A whole number from 1 to {self.max_page_size}."]})
        return size

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update({"minimum": 1, "maximum": self.max_page_size})
        return parameters


def messages_visible_to(user) -> QuerySet[MessageLog]:
    """The frames of the chargers of the user's organizations; every frame for a superuser."""
    if user.is_superuser:
        return MessageLog.objects.all()
    chargers = scope_queryset(Charger.objects.all(), user, "site__organization")
    return MessageLog.objects.filter(charge_point_id__in=chargers.values("charge_point_id"))


class MessagesView(generics.ListAPIView):
    """The message log of the caller's chargers, newest first, filterable by charger, action,
    direction, message type, message id and time."""

    serializer_class = MessageSerializer
    filterset_class = MessageFilter
    pagination_class = MessageCursor

    def get_queryset(self) -> QuerySet[MessageLog]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user, no database
            return MessageLog.objects.none()
        return messages_visible_to(self.request.user)


class ChargerMessagesView(MessagesView):
    """One charger's conversation (by charge point id), newest first."""

    def get_queryset(self) -> QuerySet[MessageLog]:
        if getattr(self, "swagger_fake_view", False):
            return MessageLog.objects.none()
        owned = scope_queryset(Charger.objects.all(), self.request.user, "site__organization")
        charger = get_object_or_404(owned, charge_point_id=self.kwargs["charge_point_id"])
        return MessageLog.objects.filter(charge_point_id=charger.charge_point_id)
