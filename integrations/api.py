"""POST /api/v1/integrations/events: inbound events of trusted systems (integrations.inbound)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import ADMIN_ROLES
from accounts.tenancy import organizations_of, scope_queryset
from integrations.event_schema import EVENT_SCHEMA, EventTypeSerializer
from integrations.events import EVENT_TYPES
from integrations.inbound import INBOUND_EVENT_TYPES, MAX_KEY_LENGTH, receive_event, request_digest
from integrations.models import WebhookDelivery, WebhookSubscription
from integrations.selectors import webhook_deliveries_for, webhook_subscriptions_for
from integrations.services import (
    create_subscription,
    delete_subscription,
    resend,
    resume,
    rotate_secret,
    update_subscription,
)
from sites.models import Charger, Site

EVENT_TYPES_DESCRIPTION = "\n".join(f"- `{name}`: {about.description}" for name, about in INBOUND_EVENT_TYPES.items())


class InboundEventSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=sorted(INBOUND_EVENT_TYPES))

    def get_fields(self) -> dict:
        # Declared here: a class attribute named `data` would hide the serializer's own `.data`.
        return {**super().get_fields(), "data": serializers.DictField(help_text="The event's fields (see the type).")}


class InboundEventAnswerSerializer(serializers.Serializer):
    type = serializers.CharField()
    idempotency_key = serializers.CharField()
    command = serializers.DictField(required=False, help_text="The command queued (session.start, session.stop).")
    id_token = serializers.DictField(required=False, help_text="The id token changed (id_token.*).")


class InboundEventView(APIView):
    serializer_class = InboundEventSerializer
    parser_classes = [JSONParser]

    @extend_schema(
        request=InboundEventSerializer,
        responses={202: InboundEventAnswerSerializer},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key", str, OpenApiParameter.HEADER, required=True,
                description=f"Unique per event (at most {MAX_KEY_LENGTH} characters). The same key again answers "
                "the first answer (header Idempotent-Replayed: true) and does nothing; with another body, 422.",
            )
        ],
        summary="An event from a trusted system (API clients only)",
        description="What a CMS or billing system asks, acted on with the same rules as the admin:\n\n"
        + EVENT_TYPES_DESCRIPTION,
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        client = getattr(request.user, "api_client", None) if hasattr(request.user, "api_scopes") else None
        if client is None:
            raise exceptions.PermissionDenied(
                "Inbound events come from API clients (client credentials token), not from people's logins."
            )
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key or len(key) > MAX_KEY_LENGTH:
            raise exceptions.ValidationError(
                {"Idempotency-Key": [f"Send a unique Idempotency-Key header (1 to {MAX_KEY_LENGTH} characters)."]}
            )
        body = InboundEventSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        answer = receive_event(
            client=client,
            principal=request.user,
            key=key,
            event_type=body.validated_data["type"],
            data=body.validated_data["data"],
            digest=request_digest(request.data),
        )
        headers = {"Idempotent-Replayed": "true"} if answer.replayed else {}
        return Response(answer.body, status=answer.status_code or status.HTTP_202_ACCEPTED, headers=headers)


# --- webhooks -----------------------------------------------------------------------------------


class WebhookSubscriptionSerializer(serializers.ModelSerializer):
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(EVENT_TYPES)), required=False, default=list,
        help_text="Empty: every type.",
    )  # fmt: skip

    class Meta:
        model = WebhookSubscription
        fields = [
            "id", "organization", "name", "url", "event_types", "site", "charger", "active", "paused_at",
            "pause_reason", "failing_since", "created_at",
        ]  # fmt: skip
        read_only_fields = ["active", "paused_at", "pause_reason", "failing_since", "created_at"]

    def get_fields(self) -> dict:
        fields = super().get_fields()
        request = self.context.get("request")
        if self.instance is not None:
            fields["organization"].read_only = True  # never changed (S17)
        elif request is not None:
            fields["organization"].queryset = organizations_of(request.user, roles=ADMIN_ROLES)  # type: ignore[attr-defined]
        if request is not None:  # another organization's site or charger: "does not exist" (S17)
            user = request.user
            fields["site"].queryset = scope_queryset(Site.objects.all(), user, "organization")  # type: ignore[attr-defined]
            fields["charger"].queryset = scope_queryset(Charger.objects.all(), user, "site__organization")  # type: ignore[attr-defined]
        return fields


class CreatedWebhookSerializer(WebhookSubscriptionSerializer):
    secret = serializers.CharField(read_only=True, help_text="The signing secret: shown in this answer only.")

    class Meta(WebhookSubscriptionSerializer.Meta):
        fields = [*WebhookSubscriptionSerializer.Meta.fields, "secret"]


@extend_schema_field(EVENT_SCHEMA)
class EventBodyField(serializers.JSONField):
    """The event a delivery carries, documented as the `Event` component."""


class WebhookDeliverySerializer(serializers.ModelSerializer):
    body = EventBodyField(read_only=True, help_text="The event, as sent.")

    class Meta:
        model = WebhookDelivery
        fields = [
            "id", "event_id", "event_type", "status", "attempts", "response_code", "latency_ms", "last_error",
            "next_attempt_at", "created_at", "delivered_at", "body",
        ]  # fmt: skip
        read_only_fields = fields


def _validation(error: DjangoValidationError) -> exceptions.ValidationError:
    return exceptions.ValidationError(error.message_dict if hasattr(error, "error_dict") else error.messages)


class WebhookSubscriptionViewSet(viewsets.ModelViewSet):
    """Webhooks of your organizations: events POSTed to a URL, signed (README, Webhooks)."""

    serializer_class = WebhookSubscriptionSerializer
    parser_classes = [JSONParser]
    filterset_fields = ["organization", "active"]
    ordering_fields = ["created_at"]

    def get_queryset(self):
        return webhook_subscriptions_for(self.request.user)

    def _require(self, verb: str, subscription: WebhookSubscription) -> None:
        if not self.request.user.has_perm(f"integrations.{verb}_webhooksubscription", subscription):
            raise exceptions.PermissionDenied(f"Your role may not {verb} webhooks of this organization.")

    @extend_schema(responses={201: CreatedWebhookSerializer})
    def create(self, request: Request, *args, **kwargs) -> Response:
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        fields = dict(body.validated_data)
        organization = fields.pop("organization")
        self._require("add", WebhookSubscription(organization=organization))
        try:
            subscription = create_subscription(organization=organization, by=request.user, via="api", **fields)
        except DjangoValidationError as error:
            raise _validation(error) from None
        return Response(CreatedWebhookSerializer(subscription).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer) -> None:
        self._require("change", serializer.instance)
        try:
            update_subscription(serializer.instance, by=self.request.user, via="api", **serializer.validated_data)
        except DjangoValidationError as error:
            raise _validation(error) from None

    def perform_destroy(self, instance: WebhookSubscription) -> None:
        self._require("delete", instance)
        delete_subscription(instance, by=self.request.user, via="api")

    @extend_schema(request=None, responses=WebhookSubscriptionSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        """Send again what waited while it was paused."""
        subscription = self.get_object()
        self._require("change", subscription)
        resume(subscription, by=request.user, via="api")
        subscription.refresh_from_db()
        return Response(self.get_serializer(subscription).data)

    @extend_schema(request=None, responses=CreatedWebhookSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str | None = None) -> Response:
        """A new signing secret, in this answer only; later deliveries are signed with it."""
        subscription = self.get_object()
        self._require("change", subscription)
        rotate_secret(subscription, by=request.user, via="api")
        return Response(CreatedWebhookSerializer(subscription).data)

    @extend_schema(responses=WebhookDeliverySerializer(many=True))
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: str | None = None) -> Response:
        """Its deliveries, newest first."""
        subscription = self.get_object()
        page = self.paginate_queryset(webhook_deliveries_for(request.user, subscription=subscription))
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"], url_path=r"deliveries/(?P<delivery_pk>\d+)/resend")
    def resend_delivery(self, request: Request, pk: str | None = None, delivery_pk: str | None = None) -> Response:
        """Send that delivery's event again: a delivered one as a new delivery at the end of the
        queue, one still waiting now, in its place."""
        subscription = self.get_object()
        self._require("change", subscription)
        delivery = get_object_or_404(subscription.deliveries, pk=delivery_pk)
        (queued,) = resend([delivery], by=request.user, via="api")
        queued.refresh_from_db()
        return Response(WebhookDeliverySerializer(queued).data, status=status.HTTP_202_ACCEPTED)


class EventTypesView(APIView):
    """The outbound events' types (webhooks, the Redis stream, /ws/events); each one's fields are
    the `...Event` components of this schema."""

    serializer_class = EventTypeSerializer

    @extend_schema(responses=EventTypeSerializer(many=True), summary="The outbound event types")
    def get(self, request: Request) -> Response:
        return Response([{"type": name, "description": text} for name, text in EVENT_TYPES.items()])
