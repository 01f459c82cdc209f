"""Service settings: `IOT_MOCK_*` environment variables or a `.env` file, overridden by CLI flags."""

from __future__ import annotations

import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated
from urllib.parse import unquote, urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_PREFIX = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")
_ORIGIN = re.compile(r"^https?://[^/\s?#]+$")
"""A browser origin: scheme, host and optional port, nothing after (no path, no trailing slash)."""


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Where the MQTT broker is, and how to log in."""

    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None

    def __str__(self) -> str:
        scheme = "mqtts" if self.tls else "mqtt"
        user = f"{self.username}@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}"


def parse_mqtt_url(url: str) -> BrokerAddress:
    """`mqtt://user:pass@host:1883` or `mqtts://host` (TLS, port 8883 by default)."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ValueError(f"must look like mqtt://[user:pass@]host[:port] or mqtts://..., got {url!r}")
    tls = parts.scheme == "mqtts"
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError:
        raise ValueError(f"bad port in {url!r}") from None
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return BrokerAddress(parts.hostname, port, tls, username, password)


class Settings(BaseSettings):
    """Everything the live service can be told; see README for each variable."""

    model_config = SettingsConfigDict(
        env_prefix="IOT_MOCK_", env_file=os.environ.get("IOT_MOCK_ENV_FILE", ".env") or None, extra="ignore"
    )
    """`.env` in the working folder, or the file IOT_MOCK_ENV_FILE names (empty: none)."""

    mqtt_url: str = Field("mqtt://127.0.0.1:1883", description="Broker URL; mqtts:// for TLS.")
    mqtt_username: str | None = Field(None, description="Overrides the URL's user.")
    mqtt_password: str | None = Field(None, description="Overrides the URL's password.")
    mqtt_client_id: str = Field(default_factory=lambda: f"iot-mock-{secrets.token_hex(4)}")
    mqtt_keepalive: int = Field(30, ge=5, le=3600)
    mqtt_qos: int = Field(1, ge=0, le=2, description="QoS of readings and statuses (statuses at least 1).")
    mqtt_tls_ca: Path | None = Field(None, description="CA bundle to verify the broker (mqtts).")
    mqtt_tls_cert: Path | None = Field(None, description="Client certificate (mutual TLS).")
    mqtt_tls_key: Path | None = Field(None, description="Client key (mutual TLS).")
    mqtt_embedded: bool = Field(True, description="Start an embedded broker when none listens (loopback only).")
    topic_prefix: str = Field("energy", description="First topic level(s), e.g. energy or site-a/energy.")
    outbox_size: int = Field(100_000, ge=100, description="Readings buffered while the broker is away.")
    drain_seconds: float = Field(5.0, ge=0, description="How long shutdown waits to deliver the outbox.")
    command_max_bytes: int = Field(4096, ge=64, le=1_048_576)
    api_host: str = Field("127.0.0.1", description="Address the REST API and demo page listen on.")
    api_port: int = Field(8090, ge=0, le=65535)
    api_token: str | None = Field(None, min_length=16, description="Bearer token for /api; required off loopback.")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins allowed to call the API from a browser: comma-separated, or a JSON list.",
    )
    max_body_bytes: int = Field(65536, ge=1024, description="Largest request body accepted (413 above).")
    state_db: Path | None = Field(
        Path("~/.local/state/iot-mock/devices.sqlite3").expanduser(),
        description="SQLite file keeping devices created, changed or deleted through the API.",
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        """The variable is `http://a.example,http://b.example:8080` or a JSON list of them."""
        if not isinstance(value, str):
            return value
        if value.lstrip().startswith("["):
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                example = '["http://localhost:3000"]'
                raise ValueError(f"must be comma-separated origins or a JSON list like {example}") from None
        return [origin.strip() for origin in value.split(",") if origin.strip()]

    @field_validator("cors_origins")
    @classmethod
    def _valid_origins(cls, origins: list[str]) -> list[str]:
        if "*" in origins:
            raise ValueError("'*' is refused: list the origins that may call the API")
        for origin in origins:
            if not _ORIGIN.match(origin):
                raise ValueError(f"each origin must look like http://host[:port] or https://..., got {origin!r}")
        return origins

    @field_validator("mqtt_url")
    @classmethod
    def _valid_url(cls, url: str) -> str:
        parse_mqtt_url(url)
        return url

    @field_validator("topic_prefix")
    @classmethod
    def _valid_prefix(cls, prefix: str) -> str:
        if not _PREFIX.match(prefix):
            raise ValueError("must be topic levels of letters, digits, '_' or '-' separated by '/', without wildcards")
        return prefix

    def broker(self) -> BrokerAddress:
        address = parse_mqtt_url(self.mqtt_url)
        return BrokerAddress(
            address.host,
            address.port,
            address.tls,
            self.mqtt_username or address.username,
            self.mqtt_password or address.password,
        )
