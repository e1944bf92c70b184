"""The logging configuration: formats, request ids, and the floors that keep content out at any level."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import websockets.protocol

from kibitz.server.logs import (
    JsonLines,
    LibraryDebugFilter,
    QueryStringFilter,
    RequestIdFilter,
    TextLines,
    describe_exception,
    logging_config,
)
from kibitz.server.middleware import request_id_var
from kibitz.settings import Settings


def _record(
    name: str = "kibitz.server", msg: str = "hello %s", *args: object, **extra: object
) -> logging.LogRecord:
    record = logging.LogRecord(name, logging.INFO, __file__, 1, msg, args or ("world",), None)
    record.__dict__.update(extra)
    return record


def test_json_lines_have_time_level_logger_message_and_extras() -> None:
    line = JsonLines().format(_record(request_id="abc123", route="/healthz", color_message="\x1b[1mx"))
    record = json.loads(line)
    assert record["message"] == "hello world"
    assert record["level"] == "INFO"
    assert record["logger"] == "kibitz.server"
    assert record["time"].endswith("+00:00")
    assert record["request_id"] == "abc123"
    assert record["route"] == "/healthz"
    assert "color_message" not in record
    assert "\n" not in line


def test_text_lines_show_the_request_id_after_the_logger() -> None:
    line = TextLines().format(_record(request_id="abc123"))
    assert line.endswith(" INFO kibitz.server [abc123] hello world")
    assert TextLines().format(_record()).endswith(" INFO kibitz.server hello world")


def test_the_request_id_comes_from_the_request_being_served() -> None:
    record = _record()
    RequestIdFilter().filter(record)
    assert not hasattr(record, "request_id")
    reset = request_id_var.set("feedface")
    try:
        record = _record()
        RequestIdFilter().filter(record)
        assert getattr(record, "request_id", None) == "feedface"
        explicit = _record(request_id="chosen")
        RequestIdFilter().filter(explicit)
        assert getattr(explicit, "request_id", None) == "chosen"
    finally:
        request_id_var.reset(reset)


def test_websocket_handshake_lines_lose_their_query_string() -> None:
    record = _record(
        "uvicorn.error", '%s - "WebSocket %s" [accepted]', "127.0.0.1:5", "/api/v1/stream?secret=1"
    )
    assert QueryStringFilter().filter(record)
    assert record.getMessage() == '127.0.0.1:5 - "WebSocket /api/v1/stream" [accepted]'
    other = _record("uvicorn.error", "Started server process [%d]", 42)
    assert QueryStringFilter().filter(other)
    assert other.getMessage() == "Started server process [42]"


def test_websockets_debug_records_are_dropped_whatever_their_logger() -> None:
    library_file = str(Path(websockets.protocol.__file__))
    frame = logging.LogRecord("uvicorn.error", logging.DEBUG, library_file, 1, "< TEXT %r", ("secret",), None)
    assert not LibraryDebugFilter().filter(frame)
    opened = logging.LogRecord("uvicorn.error", logging.INFO, library_file, 1, "connection open", (), None)
    assert LibraryDebugFilter().filter(opened)
    ours = logging.LogRecord("kibitz.server", logging.DEBUG, __file__, 1, "detail", (), None)
    assert LibraryDebugFilter().filter(ours)


@pytest.mark.parametrize("level", ["debug", "info", "warning"])
def test_content_loggers_stay_above_their_floor(level: str, tmp_path: Path) -> None:
    config = logging_config(Settings.load(data_dir=tmp_path, log_level=level))
    loggers = config["loggers"]
    configured = logging.getLevelName(level.upper())
    assert loggers["sqlalchemy"]["level"] == max(configured, logging.WARNING)
    assert loggers["httpx"]["level"] == max(configured, logging.WARNING)
    assert loggers["websockets"]["level"] == max(configured, logging.INFO)
    assert loggers["aiosqlite"]["level"] == max(configured, logging.INFO)
    assert loggers["uvicorn.access"] == {"handlers": ["null"], "propagate": False}
    assert loggers["uvicorn.asgi"] == {"handlers": ["null"], "propagate": False}
    assert config["root"]["level"] == level.upper()


def test_the_format_is_chosen_by_the_settings(tmp_path: Path) -> None:
    as_json = logging_config(Settings.load(data_dir=tmp_path))
    assert as_json["formatters"]["default"]["()"] is JsonLines
    as_text = logging_config(Settings.load(data_dir=tmp_path, log_format="text"))
    assert as_text["formatters"]["default"]["()"] is TextLines
    with pytest.raises(ValueError, match="log_format"):
        Settings.load(data_dir=tmp_path, log_format="xml")


def test_the_automatic_format_follows_the_stream(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path)
    assert settings.log_format == "auto"
    assert logging_config(settings, to_terminal=True)["formatters"]["default"]["()"] is TextLines
    assert logging_config(settings, to_terminal=False)["formatters"]["default"]["()"] is JsonLines
    as_json = Settings.load(data_dir=tmp_path, log_format="json")
    assert logging_config(as_json, to_terminal=True)["formatters"]["default"]["()"] is JsonLines


def test_exceptions_are_logged_without_their_messages() -> None:
    secret = "canary-key-2c1d"

    def fail() -> None:
        try:
            nothing: dict[str, str] = {}
            nothing[secret]
        except KeyError as exc:
            raise ValueError(secret.upper()) from exc

    try:
        fail()
    except ValueError as exc:
        described = describe_exception(exc)
        record = logging.LogRecord(
            "kibitz.server", logging.ERROR, __file__, 1, "failed", (), (type(exc), exc, None)
        )
    assert "builtins.KeyError (message withheld)" in described
    assert "builtins.ValueError (message withheld)" in described
    assert described.index("KeyError") < described.index("ValueError")  # the cause first, as Python prints
    assert "in fail" in described
    for line in (JsonLines().format(record), TextLines().format(record)):
        assert secret not in line
        assert secret.upper() not in line
        assert "ValueError (message withheld)" in line
