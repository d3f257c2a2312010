"""``GET /auth/jwks.json``: the public keys that verify access tokens."""

from __future__ import annotations

from typing import Any

from auth_service.routes.blueprint import AuthBlueprint
from auth_service.routes.guards import reject_query_string
from auth_service.state import auth_state
from common.api.auth import JwksSchema

bp = AuthBlueprint("auth_keys", __name__, url_prefix="/auth")
bp.before_request(reject_query_string)


@bp.route("/jwks.json", methods=["GET"], endpoint="auth_jwks")
@bp.response(200, JwksSchema)
def jwks() -> tuple[dict[str, Any], dict[str, str]]:
    state = auth_state()
    # Verifiers cache the keys for as long as the gateway is told to trust them.
    max_age = state.settings.http.jwks_ttl_s
    return state.tokens.keys.jwks(), {"Cache-Control": f"public, max-age={max_age}"}
