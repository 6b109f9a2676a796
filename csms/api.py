"""Shared pieces of the REST API."""

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.views import exception_handler


class Pagination(PageNumberPagination):
    """?page=N&page_size=M, at most 200 rows a page."""

    page_size_query_param = "page_size"
    max_page_size = 200


def error_body(exc, context):
    """Every API error has one shape: {"detail": "<message>"} and, for invalid input,
    "errors": {"<field>": ["<message>", ...]} ("non_field_errors" for the request as a whole)."""
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
