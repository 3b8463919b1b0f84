"""file: secrets follow their files: a Kubernetes symlink swap, an edit, SIGHUP; a bad file keeps the old value."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from pathlib import Path

from hookline.config.models import HooklineSettings
from hookline.config.secrets import Secret
from hookline.config.watch import Change, SecretWatcher


class KubernetesSecretVolume:
    """A directory laid out as the kubelet writes a Secret volume: key -> ..data/key, ..data -> ..<version>."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.version = 0

    def write(self, **keys: str) -> None:
        self.version += 1
        target = self.root / f"..2026_{self.version:04d}"
        target.mkdir()
        for key, value in keys.items():
            (target / key).write_text(value + "\n")
            link = self.root / key
            if not link.is_symlink():
                link.symlink_to(Path("..data") / key)
        staging = self.root / "..data_tmp"
        staging.symlink_to(target.name)
        os.replace(staging, self.root / "..data")  # the atomic swap the kubelet does

    def ref(self, key: str) -> str:
        return f"file:{self.root / key}"


async def _until(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


def test_a_symlink_swap_is_seen_and_every_holder_of_the_reference_gets_the_value(
    tmp_path: Path,
) -> None:
    """A Secret volume update changes the value of each Secret with that path; listeners hear it."""
    volume = KubernetesSecretVolume(tmp_path)
    volume.write(token="old-token", other="unchanged")
    first, second, other = (
        Secret(volume.ref("token")),
        Secret(volume.ref("token")),
        Secret(volume.ref("other")),
    )
    for secret in (first, second, other):
        secret.resolve()
    heard: list[list[Change]] = []
    watcher = SecretWatcher([first, second, other, Secret("inline")], interval=0)
    watcher.subscribe(heard.append)
    assert watcher.check() == []
    volume.write(token="new-token", other="unchanged")
    changes = watcher.check()
    assert [(c.ref, c.previous) for c in changes] == [(volume.ref("token"), "old-token")]
    assert heard == [changes]
    assert first.get() == second.get() == "new-token" and other.get() == "unchanged"
    assert "new-token" not in repr(changes) and "old-token" not in repr(changes)


def test_an_edited_file_is_seen_and_a_missing_or_empty_one_keeps_the_value(tmp_path: Path) -> None:
    """An edit in place is a change; a file removed or emptied mid-rotation keeps the old value."""
    path = tmp_path / "secret"
    path.write_text("one")
    secret = Secret(f"file:{path}")
    secret.resolve()
    watcher = SecretWatcher([secret], interval=0)
    path.write_text("two-longer")
    assert [c.previous for c in watcher.check()] == ["one"] and secret.get() == "two-longer"
    path.unlink()
    assert watcher.check() == [] and secret.get() == "two-longer"
    path.write_text("  \n")
    assert watcher.check() == [] and secret.get() == "two-longer"
    path.write_text("three")
    assert [c.previous for c in watcher.check()] == ["two-longer"] and secret.get() == "three"


def test_unchanged_stat_is_not_a_change_until_forced(tmp_path: Path) -> None:
    """Polling trusts the file's stat; a forced check (SIGHUP) reads every file anyway."""
    path = tmp_path / "secret"
    path.write_text("aaaa")
    secret = Secret(f"file:{path}")
    secret.resolve()
    watcher = SecretWatcher([secret], interval=0)
    before = path.stat()
    path.write_text("bbbb")  # same size, same inode
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert watcher.check() == [] and secret.get() == "aaaa"
    assert [c.previous for c in watcher.check(force=True)] == ["aaaa"] and secret.get() == "bbbb"


async def test_polling_and_sighup_reach_the_secrets_of_a_settings_tree(tmp_path: Path) -> None:
    """for_settings watches every file: secret in the tree; the poll finds a change, so does SIGHUP."""
    volume = KubernetesSecretVolume(tmp_path)
    volume.write(token="v1")
    settings = HooklineSettings.model_validate(
        {
            "admin_token": volume.ref("token"),
            "secrets": {"reload_interval_seconds": 0.05},
        }
    )
    assert settings.admin_token is not None
    settings.admin_token.resolve()
    watcher = SecretWatcher.for_settings(settings)
    assert watcher.paths == [str(tmp_path / "token")]
    watcher.start()
    try:
        volume.write(token="v2")
        await _until(
            lambda: settings.admin_token is not None and settings.admin_token.get() == "v2"
        )
    finally:
        await watcher.stop()

    hup = SecretWatcher.for_settings(
        HooklineSettings.model_validate({"secrets": {"reload_interval_seconds": 0}})
    )
    assert hup.paths == []
    secret = Secret(volume.ref("token"))
    secret.resolve()
    quiet = SecretWatcher([secret], interval=0)  # no polling: only the signal can do it
    quiet.start()
    try:
        volume.write(token="v3")
        await asyncio.sleep(0.2)
        assert secret.get() == "v2"
        os.kill(os.getpid(), signal.SIGHUP)
        await _until(lambda: secret.get() == "v3")
    finally:
        await quiet.stop()
