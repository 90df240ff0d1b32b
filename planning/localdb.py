"""Run the project-local PostgreSQL + PostGIS cluster (the embedded default database)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from planning.errors import LocalClusterError
from planning.settings import Settings

PG_MAJOR = "15"
SERVICE_USER = "postgres"
DEFAULT_DB = "planning"


@dataclass(frozen=True)
class ClusterStatus:
    """What `planning db status` reports."""

    data_dir: Path
    port: int
    initialised: bool
    running: bool
    url: str


def _bindir() -> Path:
    """Find the PostgreSQL server binaries (Debian puts them outside PATH)."""
    candidates = [Path(f"/usr/lib/postgresql/{PG_MAJOR}/bin")]
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for c in candidates:
        if (c / "pg_ctl").exists() and (c / "initdb").exists():
            return c
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    raise LocalClusterError(
        "PostgreSQL server binaries not found: install them with "
        f"'apt-get install -y postgresql-{PG_MAJOR}-postgis-3' (or run 'make deps')"
    )


def postgis_available() -> bool:
    """Tell whether the PostGIS extension files are installed for the server."""
    share = Path(f"/usr/share/postgresql/{PG_MAJOR}/extension")
    return any(share.glob("postgis.control")) or any(
        Path("/usr/share/postgresql").glob("*/extension/postgis.control")
    )


def _as_service_user() -> bool:
    return os.geteuid() == 0


def _run(cmd: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a server command, as the postgres user when we are root (PostgreSQL refuses root)."""
    program = Path(cmd[0]).name
    if _as_service_user():
        cmd = ["runuser", "-u", SERVICE_USER, "--", *cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise LocalClusterError(f"{program} failed: {tail[0]}")
    return proc


class LocalCluster:
    """A PostgreSQL cluster in a project folder, on its own port, listening on 127.0.0.1 only."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.data_dir
        self.pgdata = self.root / "pgdata"
        self.logfile = self.root / "postgres.log"
        self.port = settings.db_port

    def url(self, dbname: str = DEFAULT_DB) -> str:
        """Return the SQLAlchemy URL of a database in this cluster."""
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{dbname}"

    def initialised(self) -> bool:
        """Tell whether initdb has run."""
        return (self.pgdata / "PG_VERSION").exists()

    def running(self) -> bool:
        """Tell whether the server of this folder is up."""
        if not self.initialised():
            return False
        proc = _run([str(_bindir() / "pg_ctl"), "-D", str(self.pgdata), "status"], check=False)
        return proc.returncode == 0

    def status(self) -> ClusterStatus:
        """Describe the cluster."""
        return ClusterStatus(self.pgdata, self.port, self.initialised(), self.running(), self.url())

    def _prepare_folder(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.pgdata.mkdir(exist_ok=True)
        self.logfile.touch(exist_ok=True)
        if _as_service_user():
            pw = pwd.getpwnam(SERVICE_USER)
            for p in (self.pgdata, self.logfile):
                os.chown(p, pw.pw_uid, pw.pw_gid)
            # The service user must be able to reach the folder through its parents.
            for parent in [self.root, *self.root.parents]:
                mode = parent.stat().st_mode
                if not mode & 0o001:
                    parent.chmod(mode | 0o001)
        self.pgdata.chmod(0o700)

    def init(self) -> None:
        """Create the cluster the first time."""
        try:
            pwd.getpwnam(SERVICE_USER)
        except KeyError:
            if _as_service_user():
                raise LocalClusterError(
                    f"user '{SERVICE_USER}' is missing: install postgresql-{PG_MAJOR}"
                ) from None
        self._prepare_folder()
        _run(
            [
                str(_bindir() / "initdb"),
                "-D",
                str(self.pgdata),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ]
        )
        conf = self.pgdata / "postgresql.conf"
        with conf.open("a", encoding="utf-8") as fh:
            fh.write(
                "\n# planning-lookup local cluster\n"
                "listen_addresses = '127.0.0.1'\n"
                f"port = {self.port}\n"
                "unix_socket_directories = '/tmp'\n"
                "max_connections = 200\n"
                "shared_buffers = 512MB\n"
                "work_mem = 16MB\n"
                "maintenance_work_mem = 256MB\n"
                "wal_level = replica\n"
                "max_wal_senders = 4\n"
                "jit = off\n"
            )
        hba = self.pgdata / "pg_hba.conf"
        hba.write_text(
            "# local cluster: loopback only, no passwords\n"
            "local all all trust\n"
            "host all all 127.0.0.1/32 trust\n"
            "host replication all 127.0.0.1/32 trust\n",
            encoding="utf-8",
        )

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        _run(
            [
                str(_bindir() / "pg_ctl"),
                "-D",
                str(self.pgdata),
                "-l",
                str(self.logfile),
                "-w",
                "-t",
                "60",
                "start",
            ]
        )

    def stop(self) -> None:
        """Stop the server (fast shutdown)."""
        if self.running():
            _run([str(_bindir() / "pg_ctl"), "-D", str(self.pgdata), "-m", "fast", "-w", "stop"])

    def ensure_database(self, dbname: str = DEFAULT_DB) -> None:
        """Create a database in the cluster when it does not exist."""
        import psycopg2

        deadline = time.monotonic() + 30
        while True:
            try:
                conn = psycopg2.connect(
                    host="127.0.0.1", port=self.port, user="postgres", dbname="postgres"
                )
                break
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise LocalClusterError(
                        f"the local cluster on port {self.port} does not accept connections; "
                        f"see {self.logfile}"
                    ) from None
                time.sleep(0.2)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,))
                if cur.fetchone() is None:
                    cur.execute(f'CREATE DATABASE "{dbname}"')
        finally:
            conn.close()

    def up(self) -> ClusterStatus:
        """Create (first time) and start the cluster; do nothing that is already done."""
        if not postgis_available():
            raise LocalClusterError(
                "PostGIS is not installed: run "
                f"'apt-get install -y postgresql-{PG_MAJOR}-postgis-3' (or 'make deps')"
            )
        if not self.initialised():
            self.init()
        if not self.running():
            self.start()
        self.ensure_database()
        return self.status()
