"""Every task definition the aws target renders for the compose corpus is a valid ECS request.

tests/test_contract_corpus.py plans each sample as a preview (outputs unknown); here every output is
known, so the container definitions are rendered and checked against botocore's ECS model.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from berth.errors import BerthError
from berth.offline.plan import plan_config, run_plan
from tests.aws_support import TASK_DEFINITION, ecs_validation_errors
from tests.plans import of_type
from tests.test_contract_corpus import SAMPLES, stubbed_corpus


@pytest.mark.parametrize("sample", SAMPLES)
def test_every_task_definition_validates_against_the_ecs_model(sample):
    here = Path.cwd()
    os.chdir(stubbed_corpus())
    try:
        config, secret_keys = plan_config([sample], target="aws")
        plan = run_plan(config, secret_keys, preview=False)
    except BerthError as error:
        pytest.skip(f"refused, as tests/test_contract_corpus.py checks: {error.message}")
    finally:
        os.chdir(here)

    definitions = of_type(plan, TASK_DEFINITION)
    assert len(definitions) == len(plan.compose.services)
    for definition in definitions:
        assert ecs_validation_errors(definition) == "", f"{sample}: {definition.name}"
