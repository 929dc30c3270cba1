from pathlib import Path

import pytest

from chatti.config import ConfigError, load_settings
from chatti.store.models import Carrier, Route

ISSUE_SHAPE = """
[database]
url = "sqlite:///chatti-data/chatti.db"

[[carriers]]
name = "acme"
host = "127.0.0.1"
port = 2775
system_id = "chatti"
password = "secret"
window = 100
max_tps = 0

[[routes]]
match = "*"
carriers = ["acme"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "chatti.toml"
    path.write_text(text)
    return path


def test_the_documented_shape_loads(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, write(tmp_path, ISSUE_SHAPE))
    assert settings.database_url == "sqlite:///chatti-data/chatti.db"
    assert settings.carriers == (
        Carrier("acme", "127.0.0.1", 2775, "chatti", "secret", window=100),
    )
    assert settings.routes == (Route("*", ("acme",)),)


def test_no_file_means_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    assert settings.database_url == f"sqlite:///{tmp_path / 'chatti.db'}"
    assert settings.carriers == ()


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("[database\nurl=1", "chatti.toml"),
        ("[surprise]\n", "unknown section"),
        ("[[carriers]]\nname='a'\nhost='h'\n", "needs 'port'"),
        ("[[carriers]]\nname='a'\nhost='h'\nport=1\nsystem_id='x'\ncolour=1\n", "unknown key"),
        (
            "[[carriers]]\nname='a'\nhost='h'\nport=1\nsystem_id='x'\npassword='123456789'\n",
            "password",
        ),
        ("[[routes]]\nmatch='Germany'\ncarriers=['a']\n", "match"),
        (ISSUE_SHAPE + "\n[[routes]]\nmatch='DE'\ncarriers=['nope']\n", "unknown carrier"),
        ("[api]\nmax_batch = 0\n", "max_batch"),
        ("[webhooks]\nclaimsize = 100\n", r"\[webhooks\] unknown key\(s\): claimsize"),
        ("[sending]\nprocess = 2\n", r"\[sending\] unknown key\(s\): process"),
        (
            "[[carriers]]\nname='a'\nhost='h'\nport=1\nsystem_id='x'\nbinds=0\n",
            "binds is 1 to 32",
        ),
    ],
)
def test_bad_files_are_explained(tmp_path: Path, text: str, complaint: str) -> None:
    with pytest.raises(ConfigError, match=complaint):
        load_settings(tmp_path, write(tmp_path, text))


def test_missing_file_is_explained(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path, tmp_path / "absent.toml")


def test_several_binds_to_a_carrier(tmp_path: Path) -> None:
    text = ISSUE_SHAPE.replace("max_tps = 0", "max_tps = 0\nbinds = 4")
    settings = load_settings(tmp_path, write(tmp_path, text))
    assert settings.carriers[0].binds == 4


def test_webhook_claim_size(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, write(tmp_path, "[webhooks]\nclaim_size = 100\n"))
    assert settings.webhooks.claim_size == 100
    with pytest.raises(ConfigError, match="claim_size"):
        load_settings(tmp_path, write(tmp_path, "[webhooks]\nclaim_size = 0\n"))


def test_when_helper_sender_processes_bind(tmp_path: Path) -> None:
    defaults = load_settings(tmp_path)
    assert (defaults.helper_backlog, defaults.helper_linger_seconds) == (5000, 10.0)
    text = "[sending]\nprocesses = 2\nhelper_backlog = 0\nhelper_linger_seconds = 2.5\n"
    settings = load_settings(tmp_path, write(tmp_path, text))
    assert (settings.helper_backlog, settings.helper_linger_seconds) == (0, 2.5)
    for bad, complaint in (("helper_backlog = -1", "0 or more"), ("helper_backlog = 'x'", "0 or")):
        with pytest.raises(ConfigError, match=f"helper_backlog must be an integer of {complaint}"):
            load_settings(tmp_path, write(tmp_path, f"[sending]\n{bad}\n"))
    with pytest.raises(ConfigError, match="helper_linger_seconds must be a positive number"):
        load_settings(tmp_path, write(tmp_path, "[sending]\nhelper_linger_seconds = 0\n"))
