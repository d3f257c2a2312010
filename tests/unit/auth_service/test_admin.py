"""``python -m auth_service create-user``: the operator's way to make an admin."""

from __future__ import annotations

import io

import orjson
import pytest
from flask.testing import FlaskClient

from auth_service.admin import main
from auth_service.state import AuthState
from auth_service.tokens import Role, TokenType
from common.settings import PASSWORD_ENV
from tests.unit.auth_service.support import PASSWORD, login

pytestmark = pytest.mark.redis


def _run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdin=io.StringIO(stdin), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_create_admin_with_password_from_env(
    auth_env: pytest.MonkeyPatch, client: FlaskClient, state: AuthState
) -> None:
    auth_env.setenv(PASSWORD_ENV, PASSWORD)
    code, out, err = _run("create-user", "Root", "--role", "admin")
    assert (code, err) == (0, "")
    user = orjson.loads(out)
    assert (user["username"], user["role"]) == ("Root", "admin")
    assert "password_hash" not in user
    assert PASSWORD not in out
    pair = login(client, "root").get_json()
    claims = state.tokens.verify(pair["access_token"], TokenType.ACCESS)
    assert (claims.sub, claims.role) == (user["id"], Role.ADMIN)


def test_password_from_stdin(auth_env: pytest.MonkeyPatch, client: FlaskClient) -> None:
    auth_env.delenv(PASSWORD_ENV, raising=False)
    code, out, _ = _run("create-user", "carol", stdin=PASSWORD + "\n")
    assert code == 0
    assert orjson.loads(out)["role"] == "user"
    assert login(client, "carol").status_code == 200


def test_taken_name_and_bad_input(auth_env: pytest.MonkeyPatch) -> None:
    auth_env.setenv(PASSWORD_ENV, PASSWORD)
    assert _run("create-user", "dave")[0] == 0
    assert _run("create-user", "DAVE") == (1, "", "username 'DAVE' is taken\n")
    auth_env.setenv(PASSWORD_ENV, "short")
    assert _run("create-user", "erin") == (2, "", "password: Length must be between 8 and 128.\n")
    auth_env.setenv(PASSWORD_ENV, PASSWORD)
    code, _, err = _run("create-user", "no way")
    assert (code, err) == (2, "username: Only letters, digits, '_', '.' and '-'.\n")


def test_role_must_be_known(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["create-user", "x", "--role", "root"])
    assert exited.value.code == 2
    assert "invalid choice: 'root'" in capsys.readouterr().err
