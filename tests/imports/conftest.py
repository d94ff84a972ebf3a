"""Helpers for channel import tests: upload a file as a person and run the job to its end."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _import_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MALLARD_IMPORT_DIR", str(tmp_path / "imports"))


@pytest.fixture
def upload():
    from django.core.files.uploadedfile import SimpleUploadedFile

    from imports.services import import_job_create

    def make(content: bytes | str, *, user, merchant=None, name="orders.csv", fmt="", channel=""):
        data = content.encode() if isinstance(content, str) else content
        return import_job_create(file=SimpleUploadedFile(name, data), actor=user, merchant=merchant, format_code=fmt, channel=channel)

    return make


@pytest.fixture
def run():
    from imports.services import import_job_start

    def make(job, *, user, merchant=None):
        return import_job_start(job_id=job.pk, actor=user, merchant=merchant)

    return make
