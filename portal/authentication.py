"""Who is asking, read with the profile every request needs: a customer's membership (with its
organisation and home region) or an agent's record come with the user in one query, for the
session (the portal, the support desk) and for API tokens."""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AbstractBaseUser
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

# What `portal.selectors.member_of` and `profile_of` read, joined to the user row.
PROFILE = ("member__organisation__home_region", "agent__team")

User = get_user_model()


class ProfileBackend(ModelBackend):
    """Django's password backend; a session's user is read with its profile."""

    def get_user(self, user_id: Any) -> AbstractBaseUser | None:
        user = User._default_manager.select_related(*PROFILE).filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None


class ProfileTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`; the token's user is read with its profile."""

    def authenticate_credentials(self, key: str) -> tuple[AbstractBaseUser, Token]:
        related = ("user", *(f"user__{path}" for path in PROFILE))
        token = Token.objects.select_related(*related).filter(key=key).first()
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return token.user, token
