"""POST /api/v1/integrations/events: inbound events of trusted systems (integrations.inbound)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations.inbound import INBOUND_EVENT_TYPES, MAX_KEY_LENGTH, receive_event, request_digest

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
