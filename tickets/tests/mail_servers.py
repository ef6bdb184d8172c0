"""Real mail servers for the email channel's tests: a throwaway Dovecot (IMAP) in a temporary
folder, and an in-process SMTP server (aiosmtpd) that keeps what it is sent.

Use them through the context managers, from a fixture of the test module:

    @pytest.fixture
    def imap_server():
        with dovecot() as server:
            yield server
"""

import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope
from imapclient import IMAPClient

# Debian installs the daemon in sbin, which is not on every user's PATH.
_SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])

IMAP_USER = "alice"
IMAP_PASSWORD = "correct-horse-imap"

_CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/run
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
# Tests log in with wrong passwords on purpose: answer them at once.
auth_failure_delay = 0
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
first_valid_uid = {uid}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
mail_location = maildir:~/Maildir
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class ImapServer:
    host: str
    port: int
    user: str
    password: str
    root: Path
    uid: int
    gid: int

    @property
    def maildir(self) -> Path:
        return self.root / "mail" / self.user / "Maildir"

    def deliver(self, raw: bytes) -> None:
        """Drop a message into the inbox the way an MTA does (write in tmp/, rename into new/):
        it shows up as new and unseen."""
        name = f"{time.time_ns()}.{uuid.uuid4().hex}.meridian-tests"
        staged = self.maildir / "tmp" / name
        staged.write_bytes(raw)
        os.chown(staged, self.uid, self.gid)
        staged.chmod(0o600)
        staged.rename(self.maildir / "new" / name)

    @contextmanager
    def client(self, folder: str = "INBOX") -> Iterator[IMAPClient]:
        """A client of our own, to look at the server independently of the code under test."""
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        client.login(self.user, self.password)
        client.select_folder(folder)
        try:
            yield client
        finally:
            client.logout()

    def uids(self, *criteria: str, folder: str = "INBOX") -> list[int]:
        with self.client(folder) as client:
            return sorted(client.search(list(criteria) or ["ALL"]))

    def message_ids(self, *criteria: str, folder: str = "INBOX") -> set[str]:
        """The Message-IDs of the messages in `folder` that match, read without marking them."""
        with self.client(folder) as client:
            uids = client.search(list(criteria) or ["ALL"])
            fetched = client.fetch(uids, ["BODY.PEEK[HEADER]"]) if uids else {}
        return {
            str(message_from_bytes(data[b"BODY[HEADER]"], policy=default)["Message-ID"])
            for data in fetched.values()
        }

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _accounts() -> tuple[str, str, str, int, int]:
    """Internal user, its group, the login user, and the uid/gid mail is owned by. Dovecot
    refuses to run its processes as root, so as root they run as Debian's dovecot accounts;
    as anyone else, everything runs as that user."""
    if os.geteuid() == 0:
        dovecot = pwd.getpwnam("dovecot")
        return "dovecot", "dovecot", "dovenull", dovecot.pw_uid, dovecot.pw_gid
    me = pwd.getpwuid(os.geteuid())
    group = grp.getgrgid(me.pw_gid).gr_name
    return me.pw_name, group, me.pw_name, me.pw_uid, me.pw_gid


@contextmanager
def dovecot(*, user: str = IMAP_USER, password: str = IMAP_PASSWORD) -> Iterator[ImapServer]:
    """A Dovecot IMAP server on a free local port with one user and an empty inbox; stopped and
    removed on exit. Skips the test when Dovecot is not installed."""
    binary = shutil.which("dovecot", path=_SEARCH_PATH)
    doveadm = shutil.which("doveadm", path=_SEARCH_PATH)
    if binary is None or doveadm is None:
        pytest.skip("Dovecot is not installed (apt-get install dovecot-imapd)")
    internal_user, internal_group, login_user, uid, gid = _accounts()
    # Not under pytest's tmp_path: its parents are private to root, and the mail processes run
    # as the dovecot user.
    root = Path(tempfile.mkdtemp(prefix="meridian-dovecot-"))
    root.chmod(0o755)
    (root / "run").mkdir(mode=0o755)
    maildir = root / "mail" / user / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    for path in [root / "mail", *(root / "mail").rglob("*")]:
        os.chown(path, uid, gid)
    (root / "users").write_text(f"{user}:{{PLAIN}}{password}\n")
    port = _free_port()
    config = root / "dovecot.conf"
    config.write_text(
        _CONFIG.format(
            root=root,
            port=port,
            uid=uid,
            gid=gid,
            internal_user=internal_user,
            internal_group=internal_group,
            login_user=login_user,
        )
    )
    server = ImapServer("127.0.0.1", port, user, password, root, uid, gid)
    # Into a file, not a pipe: the daemon keeps its parent's output open, and reading a pipe
    # would wait for it to exit.
    with (root / "start.log").open("w") as output:
        started = subprocess.run(
            [binary, "-c", str(config)], stdout=output, stderr=subprocess.STDOUT, check=False
        )
    try:
        if started.returncode != 0:
            pytest.fail(f"dovecot did not start: {(root / 'start.log').read_text()}{server.log()}")
        _wait_for_greeting(server)
        yield server
    finally:
        subprocess.run([doveadm, "-c", str(config), "stop"], capture_output=True, check=False)
        _wait_until_stopped(root / "run" / "master.pid")
        shutil.rmtree(root, ignore_errors=True)


def _wait_for_greeting(server: ImapServer, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((server.host, server.port), timeout=2) as conn:
                if conn.recv(64).startswith(b"* OK"):
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"dovecot did not answer on port {server.port}:\n{server.log()}")
        time.sleep(0.1)


def _wait_until_stopped(pid_file: Path, timeout: float = 10) -> None:
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


# --- SMTP -------------------------------------------------------------------------------------


@dataclass
class _Collector:
    envelopes: list[Envelope] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope: Envelope) -> str:  # noqa: N802
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    host: str
    port: int
    controller: Controller
    collector: _Collector
    running: bool = True

    @property
    def envelopes(self) -> list[Envelope]:
        return self.collector.envelopes

    def stop(self) -> None:
        if self.running:
            self.controller.stop()
            self.running = False


@contextmanager
def smtp_server() -> Iterator[SmtpServer]:
    """An SMTP server in a thread of this process on a free local port; what it accepts is in
    `.envelopes` (`.content` holds the message's bytes)."""
    collector = _Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=_free_port())
    controller.start()
    server = SmtpServer("127.0.0.1", controller.port, controller, collector)
    try:
        yield server
    finally:
        server.stop()
