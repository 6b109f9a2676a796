"""Shared pieces of the REST API: pagination and the error shape (its filters are in
common/api_filters.py, its schema in common/api_schema.py: DRF imports these three at different times)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError, RestrictedError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.views import exception_handler

# Database ids are positive 64-bit integers; the schema says so, and the API refuses the rest.
MAX_ID = 2**63 - 1


class Pagination(PageNumberPagination):
    """?page=N&page_size=M, at most 200 rows a page. A page size that is not a whole number from
    1 to 200 is refused (400), rather than quietly replaced by the default."""

    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request) -> int | None:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if not 1 <= size <= self.max_page_size:
            raise ValidationError({self.page_size_query_param: [f"A whole number from 1 to {self.max_page_size}."]})
        return size

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        bounds = {
            self.page_query_param: {"minimum": 1},
            self.page_size_query_param: {"minimum": 1, "maximum": self.max_page_size},
        }
        for parameter in parameters:
            parameter["schema"].update(bounds.get(parameter["name"], {}))
        return parameters


class Conflict(APIException):
    """The object cannot be deleted or changed so while other rows depend on it (409)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The object is in use."
    default_code = "conflict"


def in_use(error: ProtectedError | RestrictedError) -> Conflict:
    """A delete the database refuses (on_delete=PROTECT/RESTRICT), said in words: what still
    depends on the object, by kind and count."""
    counts: dict[tuple[str, str], int] = {}
    for obj in error.args[1] if len(error.args) > 1 else ():
        names = (str(obj._meta.verbose_name), str(obj._meta.verbose_name_plural))
        counts[names] = counts.get(names, 0) + 1
    what = ", ".join(f"{count} {one if count == 1 else many}" for (one, many), count in sorted(counts.items()))
    return Conflict(f"It cannot be deleted: still in use by {what or 'other records'}. Delete or move those first.")


def invalid(error: DjangoValidationError) -> ValidationError:
    """A model's validation error (full_clean, clean) as the API's 400: the messages per field,
    "non_field_errors" for the object as a whole."""
    if not hasattr(error, "error_dict"):
        return ValidationError({"non_field_errors": error.messages})
    errors = error.message_dict
    return ValidationError({("non_field_errors" if name == "__all__" else name): errors[name] for name in errors})


def error_body(exc, context):
    """Every API error has one shape: {"detail": "<message>"} and, for invalid input,
    "errors": {"<field>": ["<message>", ...]} ("non_field_errors" for the request as a whole).
    A model validation error is a 400, a delete refused because other rows depend on the
    object a 409."""
    if isinstance(exc, DjangoValidationError):
        exc = invalid(exc)
    elif isinstance(exc, ProtectedError | RestrictedError):
        exc = in_use(exc)
    response = exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(exc, ValidationError):
        errors = data if isinstance(data, dict) else {"non_field_errors": data}
        response.data = {"detail": "The request is not valid.", "errors": errors}
    elif isinstance(data, dict) and "detail" in data:
        response.data = {"detail": str(data["detail"]), **{k: v for k, v in data.items() if k != "detail"}}
    else:
        response.data = {"detail": str(data)}
    return response


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def api_not_found(request: HttpRequest, exception=None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def api_server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": "Internal server error."}, status=500)
    return defaults.server_error(request)
