"""`ecert dev-token`: a token from the development identity provider that the app accepts."""

from __future__ import annotations

import json

from ecert.dev.demo import DEMO_CITIZENS
from ecert.wiring import resources_of


def test_dev_token_for_a_demo_citizen_is_accepted(app):
    pid, name, born, gender, _ = DEMO_CITIZENS[0]
    result = app.test_cli_runner().invoke(
        args=["ecert", "dev-token", "--pid", pid, "--loa", "3", "--ttl", "600", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["expires_in"] == 600
    identity = resources_of(app).identity.verify(data["token"])
    assert (identity.personal_id, identity.name, identity.birthdate.isoformat(), identity.gender, identity.loa) == (
        pid,
        name,
        born,
        gender,
        3,
    )


def test_dev_token_outside_the_demo_set_needs_the_person(app):
    result = app.test_cli_runner().invoke(args=["ecert", "dev-token", "--pid", "001099000001"])
    assert result.exit_code != 0
    assert "--name, --birthdate and --gender" in result.output
