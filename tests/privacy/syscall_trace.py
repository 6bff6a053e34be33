"""Run a command as a new user would, offline and under strace, and say what it touched.

``run_offline`` starts the command in a network namespace with no route (``unshare --net``:
only a loopback device, down) under ``strace -f``, so every process and thread it starts is
traced; ``read_trace`` turns the trace into the network calls it attempted and the files and
folders it created or wrote. An attempt counts even though it fails here: on a writer's
machine the same call would have reached the network.

Used by the privacy test (the app, ``draftsmith generate`` / ``devices``) and by
``benchmarks/privacy_check.py`` (a model build)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

TRACED_CALLS = (
    "connect,bind,sendto,sendmsg,open,openat,creat,mkdir,mkdirat,"
    "rename,renameat,renameat2,link,linkat,symlink,symlinkat"
)
# A connect() may only reach a local socket file (D-Bus, nscd, the single-instance server).
LOCAL_CONNECT_FAMILIES = frozenset({"AF_UNIX"})
# Addresses given to bind()/sendto(): AF_NETLINK talks to this machine's kernel only (glibc
# asks it for the network interfaces), so it never leaves the computer.
LOCAL_ADDRESS_FAMILIES = frozenset({"AF_UNIX", "AF_NETLINK"})
# bind() to the loopback address sends nothing: urllib3 (under requests, imported by the
# license and sync code) binds ::1 port 0 once at import to learn whether IPv6 works.
_LOOPBACK = re.compile(r'inet_pton\(AF_INET6, "::1"|inet_addr\("127\.')
WRITE_FLAGS = ("O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC")
# Kernel interfaces, not files: thread names (/proc/self/task/N/comm), the null device.
NOT_FILES = (Path("/proc"), Path("/dev/null"))

_LINE = re.compile(r"^(\d+)\s+(.*)$")
_CALL = re.compile(r"^(\w+)\((.*)\)\s+=\s+(-?\d+)(?:<([^>]*)>)?(.*)$")
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
_DIRFD = re.compile(r"^(?:AT_FDCWD|\d+<([^>]*)>)")
_FAMILY = re.compile(r"sa_family=(AF_\w+)")
_SUN_PATH = re.compile(r'sun_path="((?:[^"\\]|\\.)*)"')


class TraceUnavailable(RuntimeError):
    """strace or network namespaces are missing here; the reason is in the message."""


@dataclass
class Trace:
    network: list[str] = field(default_factory=list)  # the calls, as strace printed them
    written: dict[Path, str] = field(default_factory=dict)  # path -> the call that wrote it

    def written_outside(self, allowed: Iterable[Path]) -> dict[Path, str]:
        """Files and folders written anywhere but under ``allowed`` (and not Python's own
        byte-code cache next to the sources it compiles)."""
        roots = [Path(os.path.realpath(root)) for root in (*allowed, *NOT_FILES)]
        return {
            path: call
            for path, call in self.written.items()
            if not any(path == root or root in path.parents for root in roots)
            and "__pycache__" not in path.parts
        }


def unavailable_reason() -> str:
    """Why this machine can't run a traced offline command ("" when it can)."""
    if shutil.which("strace") is None:
        return "strace is not installed (Debian package strace)"
    if shutil.which("unshare") is None:
        return "unshare is not installed (Debian package util-linux)"
    probe = subprocess.run(["unshare", "--net", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"network namespaces are not allowed here: {probe.stderr.strip()}"
    return ""


def run_offline(
    command: Sequence[str],
    trace_file: Path,
    *,
    env: dict[str, str],
    cwd: Path,
    timeout: float,
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` with no network under strace, writing the trace to ``trace_file``."""
    reason = unavailable_reason()
    if reason:
        raise TraceUnavailable(reason)
    traced = ["unshare", "--net", "strace", "-f", "-qq", "-y", "-s", "4096"]
    traced += ["-e", f"trace={TRACED_CALLS}", "-o", str(trace_file), *command]
    return subprocess.run(
        traced, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


def read_trace(trace_file: Path, cwd: Path) -> Trace:
    """The network calls and the written paths in a strace log (relative paths are taken
    from ``cwd``, the command's working folder)."""
    trace = Trace()
    pending: dict[str, str] = {}
    for raw in trace_file.read_text(encoding="utf-8", errors="replace").splitlines():
        match = _LINE.match(raw)
        if match is None:
            continue
        pid, text = match.groups()
        if text.endswith("<unfinished ...>"):
            pending[pid] = text.removesuffix("<unfinished ...>")
            continue
        if text.startswith("<..."):
            text = pending.pop(pid, "") + text.split("resumed>", 1)[-1]
        call = _CALL.match(text)
        if call is not None:
            _record(trace, call, text, cwd)
    return trace


def _record(trace: Trace, call: re.Match[str], text: str, cwd: Path) -> None:
    name, args, result, result_path, _rest = call.groups()
    succeeded = int(result) >= 0
    if name in ("connect", "bind", "sendto", "sendmsg"):
        family = _FAMILY.search(args)
        if family is None:
            return  # sendto() on a connected socket: its connect() was already judged
        allowed = LOCAL_CONNECT_FAMILIES if name == "connect" else LOCAL_ADDRESS_FAMILIES
        if name == "bind" and _LOOPBACK.search(args):
            return
        if family.group(1) not in allowed:
            trace.network.append(text)
        elif name == "bind" and family.group(1) == "AF_UNIX" and succeeded:
            sun_path = _SUN_PATH.search(args)
            if sun_path and sun_path.group(1) and not sun_path.group(1).startswith("@"):
                trace.written[_resolve(cwd, None, sun_path.group(1))] = text
        return
    if not succeeded:
        return
    strings = _STRING.findall(args)
    if not strings:
        return
    if name in ("open", "openat", "creat"):
        if name != "creat" and not any(flag in args for flag in WRITE_FLAGS):
            return
        path = Path(result_path) if result_path else _resolve(cwd, args, strings[0])
    elif name in ("mkdir", "mkdirat"):
        path = _resolve(cwd, args, strings[0])
    else:  # rename, link, symlink and their *at forms: the new name is the last string
        path = _resolve(cwd, _second_dirfd(args), strings[-1])
    trace.written[path] = text


def _resolve(cwd: Path, args: str | None, raw: str) -> Path:
    path = raw.encode().decode("unicode_escape")
    if os.path.isabs(path):
        return Path(os.path.normpath(path))
    base = cwd
    if args is not None:
        dirfd = _DIRFD.match(args)
        if dirfd is not None and dirfd.group(1):
            base = Path(dirfd.group(1))
    return Path(os.path.normpath(base / path))


def _second_dirfd(args: str) -> str | None:
    """The arguments from the new name's folder on (renameat/linkat: old dirfd, old path,
    new dirfd, new path); None when the call has no folder arguments."""
    parts = args.split(", ")
    return ", ".join(parts[2:]) if len(parts) >= 4 else None
