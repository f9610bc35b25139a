"""API tokens: django-rest-knox's AuthToken table (a SHA-512 digest, never the token itself, an
expiry, one row per token so each can be revoked), read on the hot path in one query.

knox's own TokenAuthentication loads the candidate rows, then the user, then sweeps the user's
other tokens for expired ones on every request; every API request here also needs the caller's
role. This class does what knox checks (lookup by the token's first 15 characters, constant-time
compare of the digest, expiry) in a single round trip that also brings the user and the role.
Clients keep sending `Authorization: Token <token>`."""

from __future__ import annotations

import re
from hmac import compare_digest
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.models import AuthToken
from knox.settings import CONSTANTS, knox_settings
from rest_framework.exceptions import AuthenticationFailed

from tickets.roles import ROLE_PRECEDENCE, remember_role

User = get_user_model()
_USER_COLUMNS = [f.column for f in User._meta.concrete_fields]
_GROUPS = User.groups.through._meta.db_table
_RANK = " ".join(f"WHEN '{role}' THEN {i}" for i, role in enumerate(ROLE_PRECEDENCE))
# One round trip for token, user and role. Hand-written because the equivalent ORM query
# (annotate + Subquery + Case) costs ~2 ms of query compilation per request on the hot path.
# token_key (indexed) narrows to the token's row; the digest compare below decides.
_SQL = f"""
SELECT {", ".join(f'u."{c}"' for c in _USER_COLUMNS)},
       (SELECT g.name FROM {_GROUPS} ug JOIN auth_group g ON g.id = ug.group_id
         WHERE ug.user_id = u.id AND g.name IN ({", ".join(f"'{r}'" for r in ROLE_PRECEDENCE)})
         ORDER BY CASE g.name {_RANK} END LIMIT 1),
       t.digest, t.expiry IS NOT NULL AND t.expiry <= %s
  FROM {AuthToken._meta.db_table} t JOIN {User._meta.db_table} u ON u.id = t.user_id
 WHERE t.token_key = %s
"""  # noqa: S608 - only constants are interpolated; the key and the time are bound parameters
# What create_token_string makes (hex); anything else cannot be a token: refused without a query.
_TOKEN_RE = re.compile(f"[0-9a-f]{{{knox_settings.AUTH_TOKEN_CHARACTER_LENGTH}}}")


class TokenWithRoleAuthentication(TokenAuthentication):
    """knox token auth that also fetches the user's role in the same query: every API request
    needs both. Expired tokens are refused (401) and left for the hourly purge, not deleted
    on the request path."""

    def authenticate_credentials(self, token: bytes) -> tuple[Any, AuthToken]:
        try:
            key = token.decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed("Invalid token.") from None
        if not _TOKEN_RE.fullmatch(key):
            raise AuthenticationFailed("Invalid token.")
        now = timezone.now()
        with connection.cursor() as cursor:
            cursor.execute(
                _SQL,
                [connection.ops.adapt_datetimefield_value(now), key[: CONSTANTS.TOKEN_KEY_LENGTH]],
            )
            rows = cursor.fetchall()
        digest = hash_token(key)
        for row in rows:  # almost always one: token_key is 60 random bits
            if not compare_digest(digest, row[-2]):
                continue
            if row[-1]:
                raise AuthenticationFailed("Token expired.")
            user = User.from_db(
                connection.alias, [f.attname for f in User._meta.concrete_fields], row[:-3]
            )
            if not user.is_active:
                raise AuthenticationFailed("User inactive or deleted.")
            remember_role(user, row[-3])
            return user, AuthToken(digest=digest, token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH],
                                   user=user)
        raise AuthenticationFailed("Invalid token.")


class TokenWithRoleScheme(OpenApiAuthenticationExtension):
    """The OpenAPI security scheme: `Authorization: Token <token>` (drf-spectacular's knox
    extension matches knox's own class only, not subclasses)."""

    target_class = TokenWithRoleAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'API token from `manage.py create_api_user`, sent as "Token <token>".',
        }


def issue_token(user: Any) -> tuple[AuthToken, str]:
    """A new token for the user (expires after API_TOKEN_TTL_DAYS); returns the row and the
    token itself, which is shown once and never stored."""
    return AuthToken.objects.create(user=user)


def revoke_tokens(user: Any) -> int:
    deleted, _ = AuthToken.objects.filter(user=user).delete()
    return deleted


def purge_expired_tokens() -> int:
    """Delete expired tokens (hourly django-q2 schedule): they already answer 401."""
    deleted, _ = AuthToken.objects.filter(expiry__lte=timezone.now()).delete()
    return deleted
