"""Every operation of the project's own OpenAPI schema (served at /api/v1/schema/), fuzzed by
schemathesis with every role's credentials and all of its checks: no server error, every response
matching its documented status, content type, headers and body schema, schema-valid requests
accepted, schema-invalid ones refused, missing credentials refused.

Generic: operations come from the schema, so an endpoint added later is fuzzed without touching
this file (and must document its responses to pass). Each generated request is sent once per
role (customer A, customer B, agent, manager, integration, anonymous), in-process through the
real WSGI handler.

Budget: API_FUZZ_EXAMPLES (default 25) examples per operation and generation phase, derandomized
so CI runs are reproducible; set API_FUZZ_EXAMPLES=500 API_FUZZ_SEED=random for a deep local run.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.config._checks import POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES

from tests.api.conftest import ROLES

EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "25"))
RANDOM = os.environ.get("API_FUZZ_SEED") == "random"

_django = get_wsgi_application()


def over_tls(environ, start_response):
    """The app as production runs it, behind TLS: with DEBUG off SecurityMiddleware (built at
    import, before pytest's settings fixtures) would redirect plain HTTP to https://."""
    environ["wsgi.url_scheme"] = "https"
    return _django(environ, start_response)


CONFIG = SchemathesisConfig.from_dict({
    "generation": {"max-examples": EXAMPLES, "deterministic": not RANDOM},
    "checks": {
        # A schema-valid request may still meet state it conflicts with, answered as
        # documented: a reused Idempotency-Key (422), a reply to a closed ticket (409).
        "positive_data_acceptance": {
            "expected-statuses": [*POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES, "422"],
        },
    },
})
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", over_tls, config=CONFIG)


@pytest.fixture
def fuzz_world(world, keep_test_connection, unthrottled):
    return world


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=not RANDOM,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@pytest.mark.django_db
def test_every_operation_for_every_role(case, fuzz_world):
    for role in ROLES:
        case.call_and_validate(headers=fuzz_world.headers(role))
