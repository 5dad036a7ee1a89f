"""The smarthost over STARTTLS and implicit TLS, with AUTH, against aiosmtpd on 127.0.0.1."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from mailer.config import SmarthostConfig
from mailer.outbound.senders import RetryableSendError, SmtpSender
from tests.support.net import free_port
from tests.support.servers import SinkHandler

# aiosmtpd (the test's server, in its own thread) sometimes leaves its side of the TLS handshake
# our client refuses for garbage collection; the client side is closed explicitly
# (senders._discard).
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

RAW = (
    b"From: a@lists.test\r\nTo: b@example.org\r\nSubject: hi\r\nMessage-ID: <x@lists.test>\r\n\r\n"
    b"hello\r\n"
)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def authenticator(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
    ok = auth_data.login == b"convene" and auth_data.password == b"s3cret-password"
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


def run_send(settings: SmarthostConfig) -> None:
    async def go() -> None:
        sender = SmtpSender(settings)
        try:
            await sender.send(RAW, envelope_from="bounces+x@lists.test", recipient="b@example.org")
        finally:
            await sender.close()

    asyncio.run(go())


@pytest.mark.parametrize("mode", ["starttls", "tls"])
def test_tls_and_auth(certificate: tuple[Path, Path], mode: str) -> None:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    handler, port = SinkHandler(), free_port()
    if mode == "starttls":
        kwargs = {"tls_context": context, "require_starttls": True, "auth_require_tls": True}
    else:  # aiosmtpd sees no TLS on an implicit-TLS socket: it must be told AUTH is fine there
        kwargs = {"ssl_context": context, "auth_require_tls": False}
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, authenticator=authenticator, **kwargs
    )
    controller.start()
    try:
        good = SmarthostConfig(
            host="127.0.0.1",
            port=port,
            security=mode,
            username="convene",
            password="s3cret-password",
            timeout=10.0,
            ca_file=str(cert),
        )
        run_send(good)
        assert [r.rcpt_tos for r in handler.received] == [["b@example.org"]]

        with pytest.raises(RetryableSendError, match="login failed"):
            run_send(SmarthostConfig(**{**good.__dict__, "password": "wrong"}))
        # Without our CA the self-signed certificate is refused: certificates are always checked.
        with pytest.raises(RetryableSendError):
            run_send(SmarthostConfig(**{**good.__dict__, "ca_file": ""}))
        assert len(handler.received) == 1
    finally:
        controller.stop()
