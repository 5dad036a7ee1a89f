"""DKIM signing with a configured selector and key: the received message verifies."""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import dkim
import pytest

from mailer.config import ConfigError, load_config
from mailer.domain.lists import add_member
from mailer.domain.news import create_news, send_news_now
from mailer.domain.services import build_services
from tests.conftest import make_test_config
from tests.support.databases import TestDatabase
from tests.support.delivery import deliver_once
from tests.support.factories import make_list
from tests.support.servers import SmtpSink


@pytest.fixture(scope="module")
def dkim_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a test key")
    key = tmp_path_factory.mktemp("dkim") / "private.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    public = subprocess.run(
        ["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    return key, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def test_news_is_signed_and_verifies(
    database: TestDatabase, tmp_path: Path, dkim_key: tuple[Path, bytes]
) -> None:
    key, txt = dkim_key
    with SmtpSink() as sink:
        config = make_test_config(
            tmp_path,
            database.url,
            delivery={
                **sink.smarthost_settings(),
                "dkim": {"selector": "convene2026", "private_key_file": str(key)},
            },
        )
        services = build_services(config)
        make_list(database.sessions, name="Forum – Café")
        with database.sessions() as s:
            add_member(s, slug="forum", email="ana@example.org", actor="test")
        with database.sessions() as s:
            news = create_news(
                s,
                list_slug="forum",
                subject="Signed – ünïcode",
                body_markdown="Hello **all**",
                actor="test",
            )
        with database.sessions() as s:
            send_news_now(s, services, news.id, actor="test")
        deliver_once(database, config)
        [got] = sink.wait_for_count(1)

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"convene2026._domainkey.lists.test."
        return txt

    assert got.raw.startswith(b"DKIM-Signature:")
    assert b"d=lists.test" in got.raw and b"s=convene2026" in got.raw
    assert dkim.verify(got.raw, dnsfunc=dns)
    tampered = got.raw.replace(b"Hello", b"Jello", 1)
    assert not dkim.verify(tampered, dnsfunc=dns)


def test_dkim_settings_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[service]\ndev_mode = true\n[delivery.dkim]\nselector = "s1"\n')
    with pytest.raises(ConfigError, match="both selector and private_key_file"):
        load_config(path, environ={})
    path.write_text(
        '[service]\ndev_mode = true\n[delivery.dkim]\nselector = "s1"\nprivate_key_file = '
        '"/nope.pem"\n'
    )
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(path, environ={})
