"""Settings, read from environment variables (prefix ``JOINEDUP_``) or a ``.env`` file.

Every setting is documented in docs/operator-guide.md; keep the two in step.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JOINEDUP_", env_file=".env", extra="ignore")

    data_dir: Path = Field(Path("var"), description="Where the SQLite file and insight stores live")
    database_url: str = Field(
        "", description="SQLAlchemy URL of the app database; default a SQLite file in data_dir"
    )
    secret_key: str = Field(
        "", description="Signs session cookies; set it in production (random per process if unset)"
    )
    https: bool = Field(False, description="Mark cookies Secure and send HSTS (behind TLS)")
    session_max_age: int = Field(
        8 * 3600, description="Seconds a sign-in lasts at most, however busy (absolute lifetime)"
    )
    session_idle_timeout: int = Field(
        30 * 60, description="Seconds without a request after which a sign-in ends"
    )
    login_max_failures: int = Field(
        5, description="Failed sign-ins for one account from one address before each retry waits"
    )
    login_window_seconds: int = Field(3600, description="Window for counting failed sign-ins")
    login_address_max_failures: int = Field(
        20, description="Failed sign-ins from one address, any account, before each retry waits"
    )
    login_base_delay: int = Field(2, description="First wait in seconds; it doubles per failure")
    login_max_delay: int = Field(900, description="Longest wait in seconds between retries")
    duckdb_memory_limit: str = Field("2GB", description="Memory cap for DuckDB insight work")
    duckdb_threads: int = Field(2, description="Threads DuckDB may use")
    ingest_max_upload_mb: int = Field(200, description="Largest extract the upload page accepts (MB)")
    ingest_max_unpacked_mb: int = Field(
        1000, description="Largest size an XLSX or Parquet extract may unpack to (MB)"
    )
    ingest_max_compression_ratio: float = Field(
        100.0, description="Largest unpacked-to-packed size ratio of an XLSX (zip bombs exceed it)"
    )
    ingest_max_upload_files: int = Field(
        10, description="Most extracts one upload of several files may hold (each within the other limits)"
    )
    ingest_max_rows: int = Field(2_000_000, description="Most data rows one extract may have")
    ingest_max_columns: int = Field(500, description="Most columns one extract may have")
    ingest_max_cell_chars: int = Field(32_767, description="Longest value one cell may hold (characters)")
    ingest_max_concurrent: int = Field(
        2, description="Uploads checked at once by one server process; more wait their turn"
    )
    link_max_block: int = Field(
        2_000, description="Most records one blocking rule may put together before linking stops"
    )
    chromium: str = Field(
        "/usr/bin/chromium", description="Chromium that prints board packs to PDF (Debian's package)"
    )
    figure_cache_mb: int = Field(
        64, description="Memory for figures kept per data version (MB; 0 keeps none)"
    )
    host: str = Field("127.0.0.1", description="Address `joinedup serve` binds")
    port: int = Field(8000, description="Port `joinedup serve` binds")

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'joinedup.sqlite3').as_posix()}"

    @property
    def insight_dir(self) -> Path:
        return self.data_dir / "insight"

    @property
    def resolved_secret_key(self) -> str:
        # An unset key means sessions do not survive a restart: safe, if inconvenient.
        return self.secret_key or _process_secret()


@lru_cache(maxsize=1)
def _process_secret() -> str:
    return secrets.token_urlsafe(32)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
