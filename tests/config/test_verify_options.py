"""`hookline config check` names the field when a scheme's options are missing or ill-typed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hookline.cli import main


def check(
    tmp_path: Path, verify: dict[str, object], capsys: pytest.CaptureFixture[str], **source: object
) -> tuple[int, str]:
    path = tmp_path / "hookline.yaml"
    path.write_text(
        yaml.safe_dump({"sources": {"colt": {"provider": "standard", "verify": verify, **source}}})
    )
    code = main(["config", "check", "--config", str(path)])
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("verify", "expected"),
    [
        ({"scheme": "hmac", "secrets": ["s"]}, "sources.colt.verify.header: field required"),
        (
            {"scheme": "hmac", "header": "X-S", "secrets": ["s"], "algorithm": "md5"},
            "sources.colt.verify.algorithm:",
        ),
        (
            {"scheme": "hmac", "header": "X-S", "secrets": ["s"], "encoding": "hex64"},
            "sources.colt.verify.encoding:",
        ),
        (
            {"scheme": "stripe", "secrets": ["s"], "tolerance_seconds": "soon"},
            "sources.colt.verify.tolerance_seconds:",
        ),
        (
            {"scheme": "stripe", "secrets": ["s"], "tolerance_seconds": 0},
            "sources.colt.verify.tolerance_seconds:",
        ),
        ({"scheme": "github"}, "sources.colt.verify.secrets: field required"),
        ({"scheme": "github", "secrets": []}, "sources.colt.verify.secrets:"),
        (
            {"scheme": "slack", "secrets": ["s"], "header": "X"},
            "sources.colt.verify.header: unknown field",
        ),
        ({"scheme": "token", "secrets": ["s"]}, "exactly one of header or query_param"),
        (
            {"scheme": "token", "secrets": ["s"], "header": "X-T", "query_param": "t"},
            "exactly one of header or query_param",
        ),
        ({"scheme": "rot13", "secrets": ["s"]}, "sources.colt.verify"),
    ],
)
def test_bad_scheme_options_name_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], verify: dict[str, object], expected: str
) -> None:
    """Each problem is reported with its path in the file, without the union tag, exit 1."""
    code, err = check(tmp_path, verify, capsys)
    assert code == 1
    assert expected in err
    assert ".hmac." not in err and ".stripe." not in err and "Traceback" not in err


def test_none_scheme_needs_allow_ips(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """scheme none without allow_ips is refused; with allow_ips it is accepted."""
    code, err = check(tmp_path, {"scheme": "none"}, capsys)
    assert code == 1 and "only allowed together with allow_ips" in err
    code, _ = check(tmp_path, {"scheme": "none"}, capsys, allow_ips=["203.0.113.0/24"])
    assert code == 0


@pytest.mark.parametrize(
    "verify",
    [
        {"scheme": "standard-webhooks", "secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]},
        {"scheme": "stripe", "secrets": ["whsec_x", "whsec_y"], "tolerance_seconds": 600},
        {"scheme": "github", "secrets": ["s"]},
        {"scheme": "twilio", "secrets": ["s"]},
        {"scheme": "slack", "secrets": ["s"]},
        {"scheme": "shopify", "secrets": ["s"]},
        {
            "scheme": "hmac",
            "header": "X-S",
            "algorithm": "sha512",
            "encoding": "base64",
            "prefix": "v1=",
            "timestamp_header": "X-T",
            "secrets": ["s"],
        },
        {"scheme": "token", "query_param": "token", "secrets": ["s"]},
    ],
)
def test_every_scheme_has_a_valid_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], verify: dict[str, object]
) -> None:
    """The documented configuration of every scheme passes config check."""
    code, err = check(tmp_path, verify, capsys)
    assert code == 0, err
