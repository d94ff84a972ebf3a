import re
from pathlib import Path

import pytest

from tests.webhooks.receiver import start_receiver

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"


@pytest.fixture
def receiver():
    rec = start_receiver()
    yield rec
    rec.release.set()
    rec.server.shutdown()
    rec.server.server_close()


@pytest.fixture(autouse=True)
def _private_addresses_allowed(settings):
    """The receivers listen on 127.0.0.1: allowed here; the SSRF tests switch it off."""
    settings.MALLARD_WEBHOOKS_ALLOW_PRIVATE = True
    settings.DEBUG = False


@pytest.fixture(scope="session")
def verify_snippet():
    """The Python verification snippet of docs/api.md, executed as a reader would paste it."""
    text = DOCS.read_text()
    block = re.search(r"<!-- webhook-verify-python -->\s*```python\n(.*?)```", text, re.S)
    assert block, "docs/api.md lost its webhook verification snippet"
    namespace: dict = {}
    exec(compile(block.group(1), "docs/api.md#webhook-verify-python", "exec"), namespace)
    return namespace["verify_mallard_signature"]
