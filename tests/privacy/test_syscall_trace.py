# ruff: noqa: E501  (strace lines as strace prints them)
"""Reading strace logs: what counts as a network attempt and as a written file."""

from __future__ import annotations

from pathlib import Path

from tests.privacy.syscall_trace import read_trace

CWD = Path("/work/here")

LOG = r"""
101 connect(7<socket:[1]>, {sa_family=AF_UNIX, sun_path="/run/user/0/bus"}, 110) = 0
101 connect(8<socket:[2]>, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("10.0.0.53")}, 16 <unfinished ...>
102 openat(AT_FDCWD</work/here>, "/etc/hosts", O_RDONLY|O_CLOEXEC) = 3</etc/hosts>
101 <... connect resumed>) = -1 ENETUNREACH (Network is unreachable)
102 sendto(9<socket:[3]>, [{nlmsg_len=20}], 20, 0, {sa_family=AF_NETLINK, nl_pid=0, nl_groups=00000000}, 12) = 20
102 bind(10<socket:[4]>, {sa_family=AF_INET6, sin6_port=htons(0), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}, 28) = 0
102 bind(11<socket:[5]>, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("0.0.0.0")}, 16) = 0
102 sendto(12<socket:[6]>, "x", 1, MSG_NOSIGNAL, NULL, 0) = 1
103 openat(AT_FDCWD</work/here>, "notes.txt", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0666) = 4</work/here/notes.txt>
103 openat(AT_FDCWD</work/here>, "rel/missing", O_WRONLY|O_CREAT, 0666) = -1 ENOENT (No such file or directory)
103 mkdir("/home/u/.cache/Microsoft", 0700) = 0
103 mkdirat(5</home/u/.cache>, "fontconfig", 0755) = 0
103 renameat2(AT_FDCWD</work/here>, "/a/.x.tmp", 6</home/u/.config>, "x.json", RENAME_NOREPLACE) = 0
103 rename("/a/.y.tmp", "y.json") = 0
103 openat(AT_FDCWD</work/here>, "/src/pkg/__pycache__/m.cpython-311.pyc.1234", O_WRONLY|O_CREAT|O_EXCL, 0644) = 7</src/pkg/__pycache__/m.cpython-311.pyc.1234>
103 openat(AT_FDCWD</work/here>, "/proc/self/task/103/comm", O_RDWR) = 8</proc/103/task/103/comm>
103 bind(13<socket:[7]>, {sa_family=AF_UNIX, sun_path="/tmp/app-socket"}, 110) = 0
103 +++ exited with 0 +++
"""


def test_network_attempts_count_even_when_they_fail(tmp_path: Path) -> None:
    log = tmp_path / "trace"
    log.write_text(LOG.lstrip(), encoding="utf-8")
    trace = read_trace(log, CWD)
    assert len(trace.network) == 2
    assert "10.0.0.53" in trace.network[0] and "ENETUNREACH" in trace.network[0]
    assert "0.0.0.0" in trace.network[1], "a listening socket is a network door"


def test_written_paths_are_resolved_and_filtered(tmp_path: Path) -> None:
    log = tmp_path / "trace"
    log.write_text(LOG.lstrip(), encoding="utf-8")
    trace = read_trace(log, CWD)
    assert set(trace.written) == {
        Path("/work/here/notes.txt"),
        Path("/home/u/.cache/Microsoft"),
        Path("/home/u/.cache/fontconfig"),
        Path("/home/u/.config/x.json"),
        Path("/work/here/y.json"),
        Path("/src/pkg/__pycache__/m.cpython-311.pyc.1234"),
        Path("/proc/103/task/103/comm"),
        Path("/tmp/app-socket"),
    }
    outside = trace.written_outside([Path("/work/here"), Path("/home/u/.config")])
    assert set(outside) == {
        Path("/home/u/.cache/Microsoft"),
        Path("/home/u/.cache/fontconfig"),
        Path("/tmp/app-socket"),
    }
