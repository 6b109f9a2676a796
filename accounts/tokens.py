"""The API's JWT outside DRF's request cycle (WebSocket consumers): the active user an access
token names (an API client's principal with its scopes), or None."""

from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken

from accounts.authentication import ScopedJWTAuthentication


def user_from_access_token(token: str):
    authentication = ScopedJWTAuthentication()
    try:
        user = authentication.get_user(authentication.get_validated_token(token))
    except (InvalidToken, AuthenticationFailed):
        return None
    return user if user.is_active else None
