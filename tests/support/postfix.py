"""A private Postfix instance for tests: its own configuration, queue and log under a temporary
directory, listening on a free 127.0.0.1 port, so it touches nothing else on the machine.

It relays the list domain to Convene over LMTP (as docs/deployment.md describes) and sends
everything else to a relay host (the test's SMTP sink): no DNS, no traffic off 127.0.0.1.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

POSTFIX = Path("/usr/sbin/postfix")

#: Postfix's own services, none chrooted (a chroot would need copies of /etc files).
_MASTER_SERVICES = """\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


#: The header_checks line docs/deployment.md gives: Authentication-Results in our name are dropped.
_STRIP_OUR_AUTHENTICATION_RESULTS = (
    "/^Authentication-Results:[[:space:]]*{host}([[:space:];]|$)/ IGNORE\n"
)


def available() -> bool:
    return POSTFIX.exists() and os.geteuid() == 0  # postfix's master must start as root


class PrivatePostfix:
    def __init__(
        self, root: Path, *, smtp_port: int, list_domain: str, lmtp_port: int, relay_port: int
    ) -> None:
        self.root, self.config_dir = root, root / "etc"
        self.queue, self.data, self.log = root / "queue", root / "data", root / "maillog"
        self.smtp_port, self.lmtp_port = smtp_port, lmtp_port
        self.hostname = f"mx.{list_domain}"
        self.main_cf = f"""\
compatibility_level = 3.6
queue_directory = {self.queue}
data_directory = {self.data}
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.{list_domain}
mydomain = {list_domain}
myorigin = $myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
local_recipient_maps =
local_transport = error:no local delivery here
alias_maps =
alias_database =
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
# The list domain goes to Convene over LMTP; everything else to the relay host.
relay_domains = {list_domain}
transport_maps = inline:{{ {list_domain}=lmtp:inet:127.0.0.1:{lmtp_port} }}
relayhost = [127.0.0.1]:{relay_port}
smtp_tls_security_level = none
smtp_dns_support_level = disabled
lmtp_host_lookup = native
smtp_host_lookup = native
smtpd_peername_lookup = no
biff = no
maillog_file = {self.log}
maillog_file_prefixes = {root}
# Authentication-Results headers in the name of this MTA can only be forged: strip them, so
# that the only one Convene believes is the one this MTA's own milter adds (not subject to
# header_checks), as docs/deployment.md says.
header_checks = regexp:{self.config_dir}/header_checks
# Tests want answers fast, not politely delayed retries.
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
"""

    def start(self) -> None:
        for directory in (self.config_dir, self.queue, self.data):
            directory.mkdir(parents=True, exist_ok=True)
        (self.config_dir / "main.cf").write_text(self.main_cf)
        (self.config_dir / "header_checks").write_text(
            _STRIP_OUR_AUTHENTICATION_RESULTS.format(host=re.escape(self.hostname))
        )
        (self.config_dir / "master.cf").write_text(
            f"127.0.0.1:{self.smtp_port} inet n - n - - smtpd\n" + _MASTER_SERVICES
        )
        shutil.chown(self.data, "postfix")
        self._postfix("set-permissions")
        self._postfix("check")
        self._postfix("start")

    def stop(self) -> None:
        self._postfix("stop")

    def _postfix(self, command: str) -> None:
        result = subprocess.run(
            [str(POSTFIX), "-c", str(self.config_dir), command],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if result.returncode != 0:
            raise RuntimeError(f"postfix {command} failed: {result.stderr or result.stdout}")

    def maillog(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""
