"""Typed server settings, filled from `KIBITZ_*` variables only when asked (never at import time)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import limits
import platformdirs
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from kibitz.server.addresses import Network, parse_networks

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8383
# Switches for test suites and benchmarks only, set in code (tests/launch_server.py): a production
# environment cannot set them, so no deployment runs with cheap password hashes or values in the clear.
TEST_ONLY_SETTINGS = ("fast_password_hashing", "encrypt_at_rest")


def default_data_dir() -> Path:
    """Return the per-user data directory used when none is configured."""
    return Path(platformdirs.user_data_dir("kibitz", appauthor=False))


class Settings(BaseSettings):
    """Everything the server needs to start; see docs/configuration.md."""

    model_config = SettingsConfigDict(env_prefix="KIBITZ_", extra="ignore")

    host: str = DEFAULT_HOST
    port: int = Field(default=DEFAULT_PORT, ge=1, le=65535)
    data_dir: Path = Field(default_factory=default_data_dir)
    # Empty means SQLite in WAL mode at <data_dir>/kibitz.db.
    database_url: str = ""
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    invite_ttl_hours: int = Field(default=72, ge=1, le=24 * 30)
    token_ttl_days: int = Field(default=90, ge=1, le=3650)
    # Redis for the event doorbell shared by several server processes; empty means in-process.
    redis_url: str = ""
    stream_heartbeat_seconds: float = Field(default=15.0, gt=0, le=300)
    stream_poll_seconds: float = Field(default=2.0, gt=0, le=60)
    stream_queue_size: int = Field(default=1000, ge=10, le=100_000)
    ws_max_bytes: int = Field(default=64 * 1024, ge=1024)
    # TLS (docs/security.md): HTTPS and WSS when both are set.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # Plain HTTP on a non-loopback address is refused unless the server sits behind a TLS-terminating proxy:
    # then `behind_proxy` is set and `trusted_proxies` lists the proxies' addresses (CIDRs, comma-separated),
    # the only peers whose X-Forwarded-For / X-Forwarded-Proto headers count.
    behind_proxy: bool = False
    trusted_proxies: str = ""
    hsts_seconds: int = Field(default=31_536_000, ge=0)
    # Login attempts per account and per address, in the `limits` library's notation.
    login_rate_limit: str = "10/minute"
    # "json" (one object per line, for an aggregator), "text" (for a terminal), or "auto": text when the log
    # goes to a terminal, JSON otherwise.
    log_format: str = Field(default="auto", pattern="^(auto|json|text)$")
    # Where vulnerabilities in this deployment are reported (the Contact of /.well-known/security.txt): a
    # mailto:, https:// or tel: URI. Empty means no security.txt (404) and a warning at startup.
    security_contact: str = Field(default="", pattern=r"^((mailto:|https://|tel:)\S+)?$")
    # Encryption at rest (docs/security.md): the key-encryption key comes from KIBITZ_KEK (base64 of 32
    # bytes; SecretStr keeps it out of reprs and logs) or else from a file (default <data_dir>/kek.key).
    kek_file: Path | None = None
    kek: SecretStr | None = None
    # Empty means SQLite at <data_dir>/keystore.db: the wrapped data keys, apart from the data.
    keystore_url: str = ""
    # Off only to measure what encryption costs (bench/privacy.py): values are then stored in the clear.
    # Test-only: never read from the environment (TEST_ONLY_SETTINGS).
    encrypt_at_rest: bool = True
    # Where `kibitz server backup` writes by default, and where an erasure looks for keystore backups to
    # purge (empty: <data_dir>/backups).
    backup_dir: Path | None = None
    # Keystore backups older than this are deleted; the policy maximum is 7 days (erasure must reach every
    # copy of a key within that time even if a backup location were unreachable), so more is refused.
    keystore_backup_days: int = Field(default=6, ge=1, le=7)
    # Lowers argon2 cost for test suites only. Test-only: never read from the environment.
    fast_password_hashing: bool = False
    log_level: str = "info"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Read `KIBITZ_*` variables as pydantic-settings does, refusing the test-only switches."""
        return init_settings, _EnvWithoutTestSwitches(settings_cls), dotenv_settings, file_secret_settings

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_networks(cls, value: str) -> str:
        parse_networks(value)
        return value

    @field_validator("login_rate_limit")
    @classmethod
    def _rate_limit_parses(cls, value: str) -> str:
        try:
            limits.parse(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a rate limit such as '10/minute'") from None
        return value

    @model_validator(mode="after")
    def _tls_needs_both(self) -> Settings:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("TLS needs both a certificate (KIBITZ_TLS_CERT) and a key (KIBITZ_TLS_KEY)")
        return self

    @model_validator(mode="after")
    def _one_kek_source(self) -> Settings:
        if self.kek is not None and self.kek.get_secret_value() and self.kek_file is not None:
            raise ValueError("give the key-encryption key by KIBITZ_KEK or KIBITZ_KEK_FILE, not both")
        return self

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Read `KIBITZ_*` variables now, letting explicit (non-None) overrides win."""
        return cls(**{k: v for k, v in overrides.items() if v is not None})

    def backup_location(self) -> Path:
        """Return the configured backup directory (default <data_dir>/backups)."""
        return self.backup_dir if self.backup_dir is not None else self.data_dir / "backups"

    def sqlalchemy_url(self) -> str:
        """Return the async SQLAlchemy URL: the configured one, or SQLite in the data directory."""
        if not self.database_url:
            return f"sqlite+aiosqlite:///{self.data_dir / 'kibitz.db'}"
        url = self.database_url
        # Accept the plain forms people copy from their provider and pick the async driver for them.
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+asyncpg://" + url[len(prefix) :]
        if url.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
        return url

    def trusted_proxy_networks(self) -> list[Network]:
        """Return the trusted proxies as networks (raises ValueError on a bad entry)."""
        return parse_networks(self.trusted_proxies)

    @property
    def is_sqlite(self) -> bool:
        """Tell whether the database is SQLite."""
        return self.sqlalchemy_url().startswith("sqlite")


class _EnvWithoutTestSwitches(EnvSettingsSource):
    """The `KIBITZ_*` variables, refused when they set a test-only switch."""

    def __call__(self) -> dict[str, Any]:
        values = super().__call__()
        found = [f"KIBITZ_{name.upper()}" for name in TEST_ONLY_SETTINGS if name in values]
        if found:
            raise ValueError(
                f"{' and '.join(found)} cannot be set from the environment: test suites and benchmarks "
                "set these switches in code, a deployment never does; unset the variable"
            )
        return values
