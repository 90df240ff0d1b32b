"""Settings of the service, read once from the environment (prefix ``PLANNING_``)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]

# Vietnam's mainland and islands with a margin (lon/lat, WGS 84).
VIETNAM_BBOX = (102.0, 8.0, 110.0, 23.5)


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """Parse ``minlon,minlat,maxlon,maxlat`` into a checked tuple."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 4:
        raise ValueError("a bbox needs four numbers: minlon,minlat,maxlon,maxlat")
    a, b, c, d = (float(p) for p in parts)
    if not (-180 <= a < c <= 180 and -90 <= b < d <= 90):
        raise ValueError(f"bbox {text!r} is not a valid lon/lat box")
    return (a, b, c, d)


class Settings(BaseSettings):
    """What can be configured, with the defaults of a local installation."""

    model_config = SettingsConfigDict(env_prefix="PLANNING_", extra="ignore")

    database_url: str | None = Field(
        default=None, description="PostgreSQL/PostGIS URL; unset: the local cluster"
    )
    database_replica_urls: str = Field(
        default="", description="comma-separated URLs of read replicas (lookups and tiles)"
    )
    redis_url: str | None = Field(
        default=None, description="Redis URL for shared quotas across workers and machines"
    )
    data_dir: Path = Field(
        default=PROJECT_ROOT / ".local", description="where the local cluster and work files live"
    )
    db_port: int = Field(default=55432, description="port of the local cluster")
    service_area: str = Field(
        default=",".join(str(v) for v in VIETNAM_BBOX),
        description="lon/lat bbox outside which coordinates are refused",
    )
    loaded_by: str | None = Field(default=None, description="name recorded on loaded revisions")
    anon_quota_per_min: int = Field(
        default=600, ge=1, description="requests per minute per client address without a key"
    )
    key_quota_per_min: int = Field(default=600, ge=1, description="default quota of a new key")
    secret: str | None = Field(
        default=None, description="server secret for API-key hashes; unset: a file in data_dir"
    )
    max_body_bytes: int = Field(default=2_000_000, ge=1024, description="largest request body")
    cors_origins: str = Field(default="", description="comma-separated origins allowed by CORS")
    # A few statements at once per worker keep a database's cores busy; more only lengthen the
    # tail (bench/RESULTS.md: at 32 connections on 2 cores, 4 per worker gave the throughput of
    # 8 with a p99 of 84 ms instead of 136).
    pool_size: int = Field(default=4, ge=1, le=100, description="database connections per worker")
    statement_timeout_ms: int = Field(default=10_000, ge=100, description="per SQL statement")
    batch_budget_s: float = Field(
        default=30.0, gt=0, le=600, description="time a batch lookup may take in all"
    )
    tile_cache_mb: int = Field(
        default=256, ge=0, description="in-process tile cache; 0 turns it off"
    )
    basemap_style: str | None = Field(default=None, description="MapLibre style URL of a basemap")
    basemap_extra_origins: str = Field(
        default="", description="comma-separated origins of the basemap's tiles, glyphs, sprites"
    )
    public_url: str | None = Field(
        default=None, description="base URL for links, e.g. behind a proxy"
    )

    @field_validator("service_area")
    @classmethod
    def _check_area(cls, v: str) -> str:
        parse_bbox(v)
        return v

    @cached_property
    def service_bbox(self) -> tuple[float, float, float, float]:
        """Return the service area as (minlon, minlat, maxlon, maxlat)."""
        return parse_bbox(self.service_area)

    def basemap_origins(self) -> tuple[str, ...]:
        """Return the origins the page may fetch besides its own: the basemap's and any listed."""
        from urllib.parse import urlsplit

        urls = [self.basemap_style or "", *self.basemap_extra_origins.split(",")]
        origins = []
        for u in urls:
            parts = urlsplit(u.strip())
            if parts.scheme in ("http", "https") and parts.netloc:
                origins.append(f"{parts.scheme}://{parts.netloc}")
        return tuple(dict.fromkeys(origins))

    def replica_urls(self) -> list[str]:
        """Return the configured read replicas."""
        return [u.strip() for u in self.database_replica_urls.split(",") if u.strip()]

    def resolved_database_url(self) -> str:
        """Return the configured URL, or the local cluster's."""
        if self.database_url:
            return self.database_url
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.db_port}/planning"
