"""Every setting docker-compose.yml gives the organiser reaches it: through config/nameko.yaml or the environment."""

from pathlib import Path

import yaml
from nameko.cli.main import IMPLICIT_ENV_VAR_MATCHER, env_var_constructor

from organiser.dependencies import Settings

ROOT = Path(__file__).resolve().parents[4]
NAMEKO_YAML = ROOT / "config" / "nameko.yaml"
# read without the nameko config
READ_ELSEWHERE = {
    "ORGANISER_DATABASE_URL": "guanyinli.config.database_url",
    "TZ": "the C library: the local time of log lines",
    "GUANYINLI_ENV": "guanyinli.config.environment: weak secrets refused outside the local run",
    "IDENTITY_KEYS_DIR": "guanyinli.identity.keys_dir: every issuer's public key",
    "IDENTITY_SIGNING_KEY": "guanyinli.identity.signing_key_path: the organiser's own private key",
}


class NamekoLoader(yaml.SafeLoader):
    """YAML as `nameko run --config` reads it (${VAR:default}), without changing yaml.SafeLoader itself."""


NamekoLoader.add_constructor("!env_var", env_var_constructor)
NamekoLoader.add_implicit_resolver("!env_var", IMPLICIT_ENV_VAR_MATCHER, None)


ORGANISER_KEYS = (
    "ORGANISER_SECURE_COOKIES",
    "ORGANISER_HASH_CONCURRENCY",
    "ORGANISER_RPC_TIMEOUT",
    "ORGANISER_PROXIES",
)


def compose_environment() -> dict:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return compose["services"]["organiser"]["environment"]


def test_every_setting_compose_passes_to_the_organiser_is_read():
    nameko_yaml = NAMEKO_YAML.read_text()
    given = set(compose_environment())
    assert set(ORGANISER_KEYS) <= given
    unread = [k for k in sorted(given) if k not in READ_ELSEWHERE and "${" + k + ":" not in nameko_yaml]
    assert unread == []
    example = (ROOT / ".env.example").read_text()
    assert all(f"\n{k}=" in example for k in given if k.startswith("ORGANISER_") and k not in READ_ELSEWHERE)


def test_the_organiser_settings_arrive_as_compose_gives_them(monkeypatch):
    for key, value in zip(ORGANISER_KEYS, ("false", "3", "2.5", "1"), strict=True):
        monkeypatch.setenv(key, value)
    config = yaml.load(NAMEKO_YAML.read_text(), Loader=NamekoLoader)
    assert Settings.from_config(config) == Settings(
        secure_cookies=False, hash_concurrency=3, rpc_timeout=2.5, proxies=1
    )
    for key in ORGANISER_KEYS:
        monkeypatch.delenv(key)
    assert Settings.from_config(yaml.load(NAMEKO_YAML.read_text(), Loader=NamekoLoader)) == Settings()
