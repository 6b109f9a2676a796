"""Authentication (JWT, S18) and organizations for the partner API."""

import base64
import urllib.parse

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_ip_address
from axes.utils import reset
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from accounts.api_clients import InvalidClient, issue_client_token
from accounts.lockout import lockout_response, login_name
from accounts.models import Organization, User
from accounts.tenancy import organizations_of


class ActiveUserTokenRefreshSerializer(TokenRefreshSerializer):
    """A refresh token of a user who has since been deactivated or deleted is refused (S18)."""

    def validate(self, attrs: dict) -> dict:
        try:
            token = RefreshToken(attrs["refresh"])  # also refuses a blacklisted token
        except TokenError as error:
            raise InvalidToken(str(error)) from None
        if not User.objects.filter(pk=token.payload.get("user_id"), is_active=True).exists():
            raise AuthenticationFailed("This user cannot sign in.")
        return super().validate(attrs)


class LoginTokenView(TokenObtainPairView):
    """JWT login. A success clears this account's failed attempts from this address, as the
    admin login does (django-axes resets on the login signal, which JWT login does not send).
    Throttled per address by the "login" rate (API_THROTTLE_LOGIN), on top of django-axes."""

    throttle_scope = "login"

    def post(self, request: Request, *args, **kwargs) -> Response:
        if AxesProxyHandler.is_locked(request._request, {"username": login_name(request, None)}):
            # Locked out already (S19): say so, as the admin's login does, rather than "wrong
            # password", and without trying the password.
            return lockout_response(request._request)
        try:
            response = super().post(request, *args, **kwargs)
        except AuthenticationFailed:
            # django-axes marks the request it was given (DRF's) when the login is locked out:
            # that is a 429 with Retry-After, as the schema documents, not a wrong password.
            if getattr(request, "axes_locked_out", False):
                return lockout_response(request._request)
            raise
        if response.status_code == status.HTTP_200_OK:
            reset(ip=get_client_ip_address(request._request), username=login_name(request, None))
        return response


class ActiveUserTokenRefreshView(TokenRefreshView):
    serializer_class = ActiveUserTokenRefreshSerializer


class LogoutSerializer(serializers.Serializer):
    refresh = serializers.CharField()


class LogoutView(APIView):
    """Blacklist a refresh token: it can no longer be used."""

    permission_classes = [AllowAny]
    serializer_class = LogoutSerializer

    @extend_schema(request=LogoutSerializer, responses={205: None}, summary="Log out (blacklist the refresh token)")
    def post(self, request: Request) -> Response:
        body = LogoutSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            RefreshToken(body.validated_data["refresh"]).blacklist()
        except TokenError as error:
            # As the refresh endpoint answers a token that is not valid (or no longer): 401.
            raise InvalidToken(str(error)) from None
        return Response(status=status.HTTP_205_RESET_CONTENT)


class OrganizationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = ["id", "name", "slug", "kind"]
        read_only_fields = fields


class OrganizationViewSet(viewsets.ReadOnlyModelViewSet):
    """The organizations you belong to."""

    serializer_class = OrganizationSerializer
    filterset_fields = ["kind"]
    ordering_fields = ["name"]

    def get_queryset(self):
        return organizations_of(self.request.user).order_by("name")


class ClientTokenRequestSerializer(serializers.Serializer):
    grant_type = serializers.ChoiceField(choices=["client_credentials"])
    client_id = serializers.CharField(required=False, max_length=100)
    client_secret = serializers.CharField(required=False, max_length=200, trim_whitespace=False)


class ClientTokenSerializer(serializers.Serializer):
    access_token = serializers.CharField()
    token_type = serializers.CharField()
    expires_in = serializers.IntegerField()
    scope = serializers.CharField()


class ClientTokenView(APIView):
    """An API client's access token (OAuth 2 client credentials, RFC 6749 sec. 4.4): the client
    id and secret in the body or as HTTP Basic (sec. 2.3.1). No refresh token: the client asks
    again when the token expires. Throttled per address like the people's login."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_scope = "login"
    serializer_class = ClientTokenRequestSerializer

    def get_authenticate_header(self, request: Request) -> str:
        """A refused client gets 401 with the scheme it may use (RFC 6749 sec. 5.2)."""
        return 'Basic realm="api-clients"'

    @extend_schema(
        request=ClientTokenRequestSerializer,
        responses=ClientTokenSerializer,
        summary="Access token for an API client (client credentials)",
    )
    def post(self, request: Request) -> Response:
        body = ClientTokenRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        client_id, secret = _basic_credentials(request) or (
            body.validated_data.get("client_id", ""),
            body.validated_data.get("client_secret", ""),
        )
        if not client_id or not secret:
            raise serializers.ValidationError({"client_id": ["Give client_id and client_secret, or HTTP Basic."]})
        try:
            issued = issue_client_token(client_id=client_id, client_secret=secret)
        except InvalidClient:
            raise AuthenticationFailed("Unknown client, wrong secret or revoked client.") from None
        return Response(
            {
                "access_token": issued.access_token,
                "token_type": "Bearer",
                "expires_in": issued.expires_in,
                "scope": " ".join(issued.scopes),
            },
            headers={"Cache-Control": "no-store"},
        )


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    """client_id and client_secret from `Authorization: Basic` (form-urlencoded, sec. 2.3.1)."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        raise AuthenticationFailed("The Basic credentials are not valid base64.") from None
    client_id, _, secret = decoded.partition(":")
    return urllib.parse.unquote_plus(client_id), urllib.parse.unquote_plus(secret)
