"""A batch job's TOML config, checked in full before any work.

Every key is known: a misspelt one is an error naming it and the nearest valid key. Paths are
relative to the config file's folder. See ``pipelines/README.md`` for a commented example.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["EXIT_CODES", "ConfigError", "JobConfig", "load_config", "one_line"]

#: The sections and keys a job config may hold (``model.params`` is free-form).
SCHEMA: dict[str, set[str]] = {
    "job": {"name", "chunk_size", "max_skipped", "run_log", "engine", "history_rows"},
    "input": {
        "path",
        "dataset",
        "sql",
        "url",
        "id_col",
        "time_col",
        "target_col",
        "time_format",
        "freq",
    },
    "model": {"uri", "tracking_uri", "refit", "estimator", "params"},
    "forecast": {"horizon", "quantiles"},
    "output": {"path", "format", "url", "table"},
    "backtest": {"windows", "metric"},
    "tracking": {"uri", "experiment"},
}
#: Exit codes of ``tsattn batch run`` (also in its ``--help``).
EXIT_CODES = {
    0: "success (skipped series, if any, are in the run log)",
    1: "an unexpected error (traceback on stderr)",
    2: "bad config: unknown or misspelt key, invalid value, missing file",
    3: "bad data: input matching nothing, no usable series, or more skipped than job.max_skipped",
    4: "model not found: the model URI or folder does not resolve",
    5: "write failure: output not writable, disk full, interrupted; the previous output is intact",
}
REQUIRED = {"input", "model", "output"}
OUTPUT_FORMATS = ("parquet", "csv", "sql")
ENGINES = ("local", "spark")


class ConfigError(ValueError):
    """A job config that cannot run (exit code 2)."""

    exit_code = 2


@dataclass(frozen=True)
class Refit:
    """When the job refits its model: ``never``, every ``every`` runs, or when older than
    ``older_than_s`` seconds."""

    policy: str = "never"
    every: int | None = None
    older_than_s: float | None = None


@dataclass(frozen=True)
class JobConfig:
    """A checked job config (see :func:`load_config`)."""

    file: Path
    name: str
    input: dict[str, Any]
    model_uri: str
    tracking_uri: str | None
    refit: Refit
    estimator: str | None
    params: dict[str, Any]
    horizon: int | None
    quantiles: list[float]
    output: dict[str, Any]
    chunk_size: int = 1000
    max_skipped: float = 0.1
    run_log: Path = field(default_factory=Path)
    engine: str = "local"
    history_rows: int | None = None
    backtest_windows: int = 0
    backtest_metric: str = "mase"
    tracking: dict[str, Any] | None = None

    @property
    def id_col(self) -> str:
        return self.input.get("id_col", "unique_id")

    @property
    def time_col(self) -> str:
        return self.input.get("time_col", "ds")

    @property
    def target_col(self) -> str:
        return self.input.get("target_col", "y")

    @property
    def model_is_folder(self) -> bool:
        return not re.match(r"^[a-z][a-z0-9+.-]*:/", self.model_uri)


def load_config(path: str | Path) -> JobConfig:
    """Read and check the TOML job config at ``path``; ``ConfigError`` names what is wrong."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"{path}: no such job config file.")
    try:
        raw = tomllib.loads(file.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{file}: not valid TOML: {err}") from err
    _check_keys(file, raw)
    base = file.resolve().parent
    job, source, model = raw.get("job", {}), raw["input"], raw["model"]
    forecast, output = raw.get("forecast", {}), dict(raw["output"])
    backtest = raw.get("backtest", {})
    return JobConfig(
        file=file,
        name=_text(file, "job.name", job.get("name", file.stem)),
        input=_input(file, base, source),
        model_uri=_model_uri(file, base, model),
        tracking_uri=model.get("tracking_uri"),
        refit=_refit(file, model.get("refit", "never")),
        estimator=model.get("estimator"),
        params=dict(model.get("params", {})),
        horizon=_int(file, "forecast.horizon", forecast.get("horizon"), low=1, optional=True),
        quantiles=_quantiles(file, forecast.get("quantiles", [])),
        output=_output(file, base, output),
        chunk_size=_int(file, "job.chunk_size", job.get("chunk_size", 1000), low=1),
        max_skipped=_share(file, job.get("max_skipped", 0.1)),
        run_log=_path(base, job.get("run_log", f"runs/{file.stem}.jsonl")),
        engine=_choice(file, "job.engine", job.get("engine", "local"), ENGINES),
        history_rows=_int(file, "job.history_rows", job.get("history_rows"), low=1, optional=True),
        backtest_windows=_int(file, "backtest.windows", backtest.get("windows", 0), low=0),
        backtest_metric=_choice(
            file, "backtest.metric", backtest.get("metric", "mase"), ("mase", "mae", "rmse")
        ),
        tracking=raw.get("tracking"),
    )


def one_line(err: BaseException, limit: int = 500) -> str:
    """An error's message on one line (for the run log and the one-line CLI errors)."""
    return " ".join(str(err).split())[:limit]


def _check_keys(file: Path, raw: dict[str, Any]) -> None:
    for section, value in raw.items():
        if section not in SCHEMA:
            raise ConfigError(f"{file}: unknown section [{section}]{_nearest(section, SCHEMA)}.")
        if not isinstance(value, dict):
            raise ConfigError(f"{file}: [{section}] must be a table of keys.")
        for key in value:
            if key not in SCHEMA[section]:
                hint = _nearest(key, SCHEMA[section], prefix=f"{section}.")
                raise ConfigError(f"{file}: unknown key {section}.{key}{hint}.")
    missing = sorted(REQUIRED - set(raw))
    if missing:
        raise ConfigError(f"{file}: missing section(s) {', '.join(f'[{m}]' for m in missing)}.")


def _nearest(word: str, choices: Any, prefix: str = "") -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.5)
    return f"; did you mean {prefix}{close[0]}?" if close else f"; valid: {sorted(choices)}"


def _input(file: Path, base: Path, source: dict[str, Any]) -> dict[str, Any]:
    kinds = [k for k in ("path", "dataset", "sql") if k in source]
    if len(kinds) != 1:
        raise ConfigError(
            f"{file}: [input] needs exactly one of path (CSV/Parquet file or glob), dataset (a "
            f"built-in dataset name) or sql (a query, with url); it has {kinds or 'none'}."
        )
    source = dict(source)
    if "sql" in source and "url" not in source:
        raise ConfigError(f"{file}: input.sql needs input.url (a SQLAlchemy database URL).")
    if "path" in source:
        source["path"] = str(_path(base, source["path"]))
    return source


def _model_uri(file: Path, base: Path, model: dict[str, Any]) -> str:
    uri = model.get("uri")
    if not isinstance(uri, str) or not uri:
        raise ConfigError(
            f"{file}: model.uri is required: a saved-model folder, models:/NAME@ALIAS or "
            "runs:/RUN_ID/model."
        )
    if re.match(r"^[a-z][a-z0-9+.-]*:/", uri):
        return uri
    return str(_path(base, uri))


def _refit(file: Path, text: Any) -> Refit:
    words = str(text).strip().lower().split()
    if words == ["never"]:
        return Refit()
    if len(words) == 3 and words[0] == "every" and words[1].isdigit() and words[2] == "runs":
        return Refit("every", every=int(words[1]))
    units = {"m": 60, "h": 3600, "d": 86400}
    if len(words) == 3 and words[:2] == ["older", "than"]:
        amount = re.fullmatch(r"(\d+(?:\.\d+)?)([mhd])", words[2])
        if amount:
            return Refit("older_than", older_than_s=float(amount[1]) * units[amount[2]])
    raise ConfigError(
        f"{file}: model.refit = {text!r} is invalid; use 'never', 'every N runs' or "
        "'older than 7d' (units m, h, d)."
    )


def _output(file: Path, base: Path, output: dict[str, Any]) -> dict[str, Any]:
    fmt = output.get("format", "sql" if "table" in output else "parquet")
    output["format"] = _choice(file, "output.format", fmt, OUTPUT_FORMATS)
    if fmt == "sql":
        if "url" not in output or "table" not in output:
            raise ConfigError(f"{file}: a database output needs output.url and output.table.")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(output["table"])):
            raise ConfigError(f"{file}: output.table {output['table']!r} is not a plain name.")
    elif "path" not in output:
        raise ConfigError(f"{file}: output.path (a folder) is required for {fmt} output.")
    else:
        output["path"] = str(_path(base, output["path"]))
    return output


def _path(base: Path, value: Any) -> Path:
    if not isinstance(value, str) or not value or "\x00" in value:
        raise ConfigError(f"path {value!r} is invalid; expected a non-empty string.")
    path = Path(value).expanduser()
    return Path(os.path.normpath(path if path.is_absolute() else base / path))


def _text(file: Path, key: str, value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", value):
        raise ConfigError(f"{file}: {key} = {value!r}: use letters, digits, '_', '.', '-'.")
    return value


def _int(file: Path, key: str, value: Any, *, low: int, optional: bool = False) -> Any:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"{file}: {key} = {value!r} is invalid; expected an integer >= {low}.")
    return value


def _share(file: Path, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ConfigError(
            f"{file}: job.max_skipped = {value!r} is invalid; expected the share of series "
            "that may be skipped, from 0 to 1."
        )
    return float(value)


def _choice(file: Path, key: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ConfigError(f"{file}: {key} = {value!r} is invalid; expected one of {list(choices)}.")
    return value


def _quantiles(file: Path, value: Any) -> list[float]:
    if not isinstance(value, list) or not all(
        isinstance(q, int | float) and 0 < q < 1 for q in value
    ):
        raise ConfigError(f"{file}: forecast.quantiles = {value!r}; expected levels in (0, 1).")
    return sorted(float(q) for q in value)
