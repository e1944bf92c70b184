"""Typed server settings, filled from `KIBITZ_*` variables only when asked (never at import time)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import limits
import platformdirs
from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from kibitz.server.addresses import Network, normal_host, parse_networks

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
    # A browser session ends after this many minutes without a request (and at token_ttl_days at the latest).
    session_idle_minutes: int = Field(default=60, ge=5, le=24 * 60)
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
    # The host names (the Host header, port aside) /metrics answers to, comma- or space-separated; empty means
    # this machine's own: localhost, 127.0.0.1, ::1, the listening host and the machine's host name. Any
    # other name is 404, so a web page whose name an attacker points at 127.0.0.1 cannot read them.
    metrics_hosts: str = ""
    # Login attempts per account and per address, in the `limits` library's notation.
    login_rate_limit: str = "10/minute"
    # Sign-ups per client address, same notation; empty means the login limit's rate.
    signup_rate_limit: str = ""
    # Who may create an account: "open" (anyone who reaches the server), "invite" (only with an unused invite
    # code, which they join at once) or "closed" (nobody; existing accounts only).
    signup_mode: str = Field(default="open", pattern="^(open|invite|closed)$")
    # Domains whose addresses may sign up (comma- or space-separated; a domain admits its subdomains too);
    # empty means every domain.
    signup_email_domains: str = ""
    # Special-use domains accepted in email addresses, for self-hosted servers on an internal network (a
    # domain admits its subdomains); the rest (`localhost`, `invalid`, `test`, `onion`...) stay refused.
    internal_email_domains: str = "local home.arpa internal lan"
    # Least zxcvbn score (0-4) a new password needs; the person's email, handle and name count against it.
    password_min_score: int = Field(default=3, ge=0, le=4)
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

    @field_validator("metrics_hosts")
    @classmethod
    def _metrics_hosts_are_names(cls, value: str) -> str:
        for item in value.replace(",", " ").split():
            if normal_host(item) is None:
                raise ValueError(f"{item!r} is not a host name or an IP address")
        return value

    @field_validator("login_rate_limit", "signup_rate_limit")
    @classmethod
    def _rate_limit_parses(cls, value: str, info: ValidationInfo) -> str:
        if not value and info.field_name == "signup_rate_limit":
            return value
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

    def signup_limit(self) -> str:
        """Return the sign-up rate limit per address (the login limit's unless set)."""
        return self.signup_rate_limit or self.login_rate_limit

    def signup_domains(self) -> tuple[str, ...]:
        """Return the domains allowed to sign up, lower case (empty: every domain)."""
        return _domains(self.signup_email_domains)

    def internal_domains(self) -> tuple[str, ...]:
        """Return the special-use email domains this server accepts, lower case."""
        return _domains(self.internal_email_domains)

    def trusted_proxy_networks(self) -> list[Network]:
        """Return the trusted proxies as networks (raises ValueError on a bad entry)."""
        return parse_networks(self.trusted_proxies)

    def metrics_host_names(self) -> frozenset[str]:
        """Return the host names /metrics answers to (the configured ones, else this machine's own)."""
        if self.metrics_hosts.strip():
            configured = (normal_host(item) for item in self.metrics_hosts.replace(",", " ").split())
            return frozenset(name for name in configured if name)
        own = ["localhost", "127.0.0.1", "::1", socket.gethostname()]
        if self.host not in ("", "0.0.0.0", "::"):  # a wildcard address is nobody's name  # noqa: S104
            own.append(self.host)
        return frozenset(name for name in map(normal_host, own) if name)

    @property
    def is_sqlite(self) -> bool:
        """Tell whether the database is SQLite."""
        return self.sqlalchemy_url().startswith("sqlite")


def _domains(value: str) -> tuple[str, ...]:
    return tuple(d.strip().strip(".").lower() for d in value.replace(",", " ").split() if d.strip("."))


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
