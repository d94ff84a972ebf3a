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


@pytest.fixture(scope="session")
def node_verify(tmp_path_factory):
    """The Node.js snippet of docs/api.md as a script: `node_verify(secret, header, body) -> bool`."""
    import shutil
    import subprocess

    text = DOCS.read_text()
    block = re.search(r"<!-- webhook-verify-node -->\s*```js\n(.*?)```", text, re.S)
    assert block, "docs/api.md lost its Node.js verification snippet"
    node = shutil.which("node") or shutil.which("nodejs")
    assert node, "Node.js is needed to run the documented snippet (Debian: apt install nodejs)"
    script = tmp_path_factory.mktemp("node") / "verify.js"
    script.write_text(block.group(1) + """
const fs = require("fs");
const [secret, header, bodyFile] = process.argv.slice(2);
process.stdout.write(String(verifyMallardSignature(secret, header, fs.readFileSync(bodyFile))));
""")

    def verify(secret: str, header: str, body: bytes) -> bool:
        body_file = script.parent / "body.bin"
        body_file.write_bytes(body)
        out = subprocess.run([node, str(script), secret, header, str(body_file)], capture_output=True, text=True,
                             timeout=30, check=True).stdout
        return {"true": True, "false": False}[out]

    return verify
