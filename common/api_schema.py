"""The API's OpenAPI schema: every operation documents its error answers."""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_basic_type
from drf_spectacular.types import OpenApiTypes
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """An error: its message and, for invalid input, the messages per field."""

    detail = serializers.CharField()
    # Named as the error body names it: this serializer only describes the schema and never
    # validates, so the Serializer.errors it shadows is never read.
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.JSONField(),
        required=False,
        help_text='Invalid input only: messages per field ("non_field_errors" for the request as a whole).',
    )


ERROR_DESCRIPTIONS = {
    "400": "The request is not valid: `errors` names each invalid field.",
    "401": "No valid credentials (a missing, expired or invalid token; a wrong login).",
    "403": "Not allowed for this user.",
    "404": "No such object among yours (or no such page).",
    "409": "In use: other records depend on the object (delete or move those first).",
    "429": "Too many requests (throttled), or too many failed logins (locked out); see Retry-After.",
}


class ErrorDocumentingSchema(AutoSchema):
    """Documents the error answers of every operation, in every media type the view renders
    (a CSV view answers its errors as CSV), so no status code or content type is undocumented:
    401, 403 and 429 everywhere; 400 where the client sends parameters or a body; 404 where the
    path names an object or the list is paginated; 409 where an object is deleted."""

    def _get_response_bodies(self, direction="response") -> dict:
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        error = {"schema": self.resolve_serializer(ErrorSerializer, direction).ref}
        text = {"schema": build_basic_type(OpenApiTypes.STR)}
        content = {
            media_type: error if "json" in media_type else text for media_type in self.map_renderers("media_type")
        }
        for status in self._error_statuses():
            documented = responses.setdefault(status, {"description": ERROR_DESCRIPTIONS[status]})
            documented.setdefault("content", {})
            for media_type, schema in content.items():
                documented["content"].setdefault(media_type, schema)
        return responses

    def _error_statuses(self) -> list[str]:
        statuses = ["401", "403", "429"]
        takes_input = self.method in ("POST", "PUT", "PATCH") or bool(self._get_filter_parameters())
        takes_input = takes_input or bool(self._get_pagination_parameters()) or self._has_query_parameters()
        if takes_input:
            statuses.append("400")
        # DRF answers an unknown ?format= with 404, where a view documents the parameter.
        if "{" in self.path or self._get_pagination_parameters() or self._documents_parameter("format"):
            statuses.append("404")
        if self.method == "DELETE" and "{" in self.path:
            statuses.append("409")
        return sorted(statuses)

    def _documents_parameter(self, name: str) -> bool:
        return any(getattr(parameter, "name", None) == name for parameter in self.get_override_parameters())

    def _has_query_parameters(self) -> bool:
        return any(
            getattr(parameter, "location", None) == "query" or isinstance(parameter, type | serializers.Serializer)
            for parameter in self.get_override_parameters()
        )
