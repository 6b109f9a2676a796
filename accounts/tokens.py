"""The API's JWT outside DRF's request cycle (WebSocket consumers): the active user an access
token names, or None."""

from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken


def user_from_access_token(token: str):
    authentication = JWTAuthentication()
    try:
        user = authentication.get_user(authentication.get_validated_token(token))
    except (InvalidToken, AuthenticationFailed):
        return None
    return user if user.is_active else None
