"""Authentication (JWT, S18) and organizations for the partner API."""

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
