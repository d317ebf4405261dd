"""Settings, read from the environment or a `.env` file.

Everything the bot can be told lives here so that `.env.example` can list it
all in one place.  Secrets are `SecretStr` so that a stray `repr()` or log
line never prints a token.
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from .budget import ModelPrice
from .store.connect import RedisMode, parse_sentinels

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_FILES: tuple[Path | str, ...] = (PROJECT_ROOT / ".env", ".env")

# Which setting each platform needs, so a start-up failure can name them.
REQUIRED_FOR: dict[str, tuple[str, ...]] = {
    "console": (),
    "slack": ("slack_bot_token",),
    "discord": ("discord_token",),
}
# What each model provider needs.  OPENAI_API_KEY may stay empty: local
# servers (Ollama, vLLM, LM Studio) take no key.
REQUIRED_FOR_PROVIDER: dict[str, tuple[str, ...]] = {
    "anthropic": ("anthropic_api_key",),
    "openai": ("openai_model",),
}
PROVIDERS = tuple(REQUIRED_FOR_PROVIDER)
REDIS_MODES = tuple(m.value for m in RedisMode)


class Settings(BaseSettings):
    # `.env` next to the project first, then `.env` in the working directory (its values win);
    # environment variables win over both.
    model_config = SettingsConfigDict(env_file=ENV_FILES, env_file_encoding="utf-8", extra="ignore",
                                      env_ignore_empty=True)

    # --- model -------------------------------------------------------------
    llm_provider: str = "anthropic"
    anthropic_api_key: SecretStr | None = None
    anthropic_base_url: str | None = None
    anthropic_model: str = "claude-sonnet-5-5"
    anthropic_max_tokens: int = Field(default=8000, ge=256, le=64000)
    anthropic_max_retries: int = Field(default=3, ge=0, le=10)
    anthropic_request_timeout: float = Field(default=120.0, gt=0)
    anthropic_total_timeout: float = Field(default=300.0, gt=0)
    anthropic_max_continuations: int = Field(default=2, ge=0, le=10)
    openai_base_url: str | None = None
    openai_api_key: SecretStr | None = None
    openai_model: str | None = None

    # --- state -------------------------------------------------------------
    redis_url: str | None = None
    redis_prefix: str = "ib"
    redis_mode: str = "standalone"
    redis_sentinels: str = ""
    redis_sentinel_service: str = "mymaster"
    redis_sentinel_password: SecretStr | None = None
    redis_max_connections: int = Field(default=64, ge=4, le=10_000)
    session_ttl_days: float = Field(default=14.0, gt=0)
    lease_seconds: float = Field(default=20.0, gt=0.1, le=600)
    recover_interval: float = Field(default=5.0, gt=0, le=300)
    timer_tick: float = Field(default=1.0, gt=0, le=60)
    shutdown_grace: float = Field(default=10.0, ge=0, le=600)
    dedupe_ttl: int = Field(default=3600, gt=0)

    # --- limits ------------------------------------------------------------
    interviewer_cards: bool = True
    max_problem_chars: int = Field(default=2000, ge=10)
    max_attachment_chars: int = Field(default=20000, ge=100, le=200_000)
    max_answer_chars: int = Field(default=4000, ge=50)
    context_budget_tokens: int = Field(default=40000, ge=4000)
    context_keep_turns: int = Field(default=6, ge=2, le=100)
    diagram_width: int = Field(default=60, ge=30, le=120)
    diagram_ascii: bool = False
    diagram_max_crossings: int = Field(default=6, ge=0)
    diagram_max_lines: int = Field(default=70, ge=10)
    prompts_dir: Path = PROJECT_ROOT / "prompts"
    log_level: str = "INFO"
    log_format: str = "text"
    log_content: bool = False

    # --- pace and the answer window ---------------------------------------
    default_pace: str = "full"
    pace_by_workspace: str = ""
    collect_seconds: int = Field(default=60, ge=0, le=3600)

    # --- practice mode -----------------------------------------------------
    practice_phase_minutes: Annotated[tuple[float, ...], NoDecode] = (5, 5, 7, 12, 11, 5)   # '5,5,7,...' in env
    practice_grace_minutes: float = Field(default=3.0, ge=0, le=120)
    practice_group_answers: bool = False
    practice_pause_after_minutes: float = Field(default=0.0, ge=0)
    practice_max_image_bytes: int = Field(default=5 * 1024 * 1024, ge=1024, le=5 * 1024 * 1024)
    history_days: int = Field(default=180, ge=1, le=3650)
    history_visible_to_group: bool = False

    # --- budgets -----------------------------------------------------------
    budget_user_daily_tokens: int = Field(default=0, ge=0)
    budget_workspace_daily_tokens: int = Field(default=0, ge=0)
    price_table: dict[str, ModelPrice] = Field(default_factory=dict)
    price_currency: str = Field(default="$", max_length=8)

    # --- health and metrics ------------------------------------------------
    health_port: int = Field(default=0, ge=0, le=65535)
    health_host: str = "127.0.0.1"

    # --- slack -------------------------------------------------------------
    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_mode: str = "socket"
    slack_port: int = 3000
    slack_host: str = "0.0.0.0"
    slack_base_url: str | None = None
    slack_allowed_channels: str = ""
    slack_timeout: float = Field(default=10.0, gt=0, le=120)

    # --- discord -----------------------------------------------------------
    discord_token: SecretStr | None = None
    discord_guild_id: int | None = None
    discord_allowed_channels: str = ""
    discord_allowed_guilds: str = ""
    discord_private_threads: bool = False
    discord_timeout: float = Field(default=30.0, gt=0, le=300)
    discord_api_base: str | None = None
    discord_gateway_url: str | None = None
    discord_shard_count: int = Field(default=0, ge=0, le=100_000)
    discord_shard_ids: str = ""

    @field_validator("llm_provider")
    @classmethod
    def _provider(cls, v: str) -> str:
        v = v.strip().lower()
        if v not in PROVIDERS:
            raise ValueError(f"must be one of: {', '.join(PROVIDERS)}")
        return v

    @field_validator("redis_mode")
    @classmethod
    def _redis_mode(cls, v: str) -> str:
        v = v.strip().lower()
        if v not in REDIS_MODES:
            raise ValueError(f"must be one of: {', '.join(REDIS_MODES)}")
        return v

    @field_validator("redis_sentinels")
    @classmethod
    def _sentinels(cls, v: str) -> str:
        parse_sentinels(v)   # raises ValueError naming the bad entry
        return v

    @field_validator("discord_shard_ids")
    @classmethod
    def _shard_ids(cls, v: str) -> str:
        shard_ids(v)   # raises ValueError naming the bad entry
        return v

    @field_validator("default_pace")
    @classmethod
    def _pace(cls, v: str) -> str:
        from .pace import parse_pace  # pace reads PROJECT_ROOT from this module
        pace = parse_pace(v)
        if pace is None:
            raise ValueError("must be 'full' or 'interactive'")
        return pace.value

    @field_validator("pace_by_workspace")
    @classmethod
    def _pace_map(cls, v: str) -> str:
        from .pace import parse_pace_map
        parse_pace_map(v)
        return v

    @field_validator("practice_phase_minutes", mode="before")
    @classmethod
    def _phase_minutes(cls, v: object) -> object:
        """'5,5,7,12,11,5' (the environment's form) or a sequence: one positive number per phase."""
        from .practice_clock import PRACTICE_PHASES

        values = [p for p in v.replace(";", ",").split(",") if p.strip()] if isinstance(v, str) else v
        try:
            minutes = tuple(float(m) for m in values)  # type: ignore[attr-defined]
        except (TypeError, ValueError):
            raise ValueError("must be numbers separated by commas, e.g. 5,5,7,12,11,5") from None
        if len(minutes) != len(PRACTICE_PHASES) or any(m <= 0 for m in minutes):
            raise ValueError(f"needs {len(PRACTICE_PHASES)} positive numbers ({', '.join(PRACTICE_PHASES)})")
        return minutes

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, v: str) -> str:
        v = v.strip().lower()
        if v not in {"text", "json"}:
            raise ValueError("must be 'text' or 'json'")
        return v

    @field_validator("slack_mode")
    @classmethod
    def _mode(cls, v: str) -> str:
        v = v.strip().lower()
        if v not in {"socket", "http"}:
            raise ValueError("must be 'socket' or 'http'")
        return v

    @property
    def session_ttl_seconds(self) -> int:
        return int(self.session_ttl_days * 86400)


def shard_ids(text: str) -> list[int]:
    """DISCORD_SHARD_IDS: `0,1` (spaces or semicolons also separate); empty = every shard."""
    ids = []
    for part in text.replace(";", ",").replace(" ", ",").split(","):
        if part.strip():
            if not part.strip().isdigit():
                raise ValueError(f"{part.strip()!r} is not a shard number")
            ids.append(int(part))
    return sorted(set(ids))


class SettingsError(SystemExit):
    """Raised at start-up with one human line instead of a traceback."""


def _env_name(field: str) -> str:
    return field.upper()


def load_settings(platform: str = "console", **overrides) -> Settings:
    """Load and check settings; exit with one clear line naming what is wrong."""
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = _env_name(str(err["loc"][0])) if err.get("loc") else "a setting"
        raise SettingsError(
            f"interview-bot: setting {name} is invalid ({err['msg']}). "
            f"Fix it in your environment or .env (see .env.example)."
        ) from None
    if settings.redis_mode == RedisMode.CLUSTER and not settings.redis_url:
        raise SettingsError("interview-bot: REDIS_MODE=cluster needs REDIS_URL (the address of any cluster node). "
                            "Put it in your environment or in .env (see .env.example).")
    if settings.redis_mode == RedisMode.SENTINEL and not settings.redis_sentinels.strip():
        raise SettingsError("interview-bot: REDIS_MODE=sentinel needs REDIS_SENTINELS (host:port,host:port). "
                            "Put it in your environment or in .env (see .env.example).")
    ids, count = shard_ids(settings.discord_shard_ids), settings.discord_shard_count
    if ids and not count:
        raise SettingsError("interview-bot: DISCORD_SHARD_IDS needs DISCORD_SHARD_COUNT (the total number of shards "
                            "across all processes). Put it in your environment or in .env (see .env.example).")
    if ids and max(ids) >= count:
        raise SettingsError(f"interview-bot: DISCORD_SHARD_IDS has shard {max(ids)}, but shards are numbered 0 to "
                            f"{count - 1} with DISCORD_SHARD_COUNT={count}.")
    provider_fields = REQUIRED_FOR_PROVIDER[settings.llm_provider]
    for field in provider_fields + REQUIRED_FOR.get(platform, ()):
        value = getattr(settings, field)
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if text is None or not str(text).strip():
            why = f" (needed with LLM_PROVIDER={settings.llm_provider})" if field in provider_fields else ""
            raise SettingsError(
                f"interview-bot: {_env_name(field)} is not set{why}. Put it in your environment or in .env "
                f"(copy .env.example to .env and fill it in)."
            )
    return settings


def settings_or_report(platform: str) -> Settings | None:
    """For an adapter's `main`: the settings, or None after printing the one-line reason."""
    import sys

    try:
        return load_settings(platform)
    except SettingsError as exc:
        print(exc.code, file=sys.stderr)
        return None
