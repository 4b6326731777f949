"""Whether a sync or a bundle import finished: the honest summary and exit code an operator sees.

A run in which anything was refused, forked, quarantined or left pending did not finish, whatever
else it did: the command says so in plain Chinese and English and exits non-zero, so a script (or
the desk) never reports "done" over work that did not land.

    exit 0  everything landed
    exit 2  an error: bad input, configuration, the hub unreachable or refusing the session
    exit 3  something was refused or forked: it will not land without someone acting
    exit 4  something waits (quarantined: stamped ahead of the hub's clock; pending: earlier
            changesets missing; held: written by a newer release): it lands later by itself or
            once county staff release it
"""
from __future__ import annotations

from collections.abc import Mapping

EXIT_OK = 0
EXIT_ERROR = 2
EXIT_REFUSED = 3
EXIT_WAITING = 4

REFUSED = ("refused", "fork")
WAITING = ("quarantined", "pending", "held")


def verdict(counts: Mapping[str, int]) -> tuple[int, str]:
    """(exit code, message) for outcome counts by status; (0, "") when everything landed."""
    refused = {s: counts.get(s, 0) for s in REFUSED if counts.get(s, 0)}
    waiting = {s: counts.get(s, 0) for s in WAITING if counts.get(s, 0)}
    if not refused and not waiting:
        return EXIT_OK, ""
    parts = [f"{n} {s}" for s, n in (refused | waiting).items()]
    if refused:
        return EXIT_REFUSED, (f"有记录被拒绝或分叉，未能送达；请查看原因并联系县里 some changesets were refused or forked "
                              f"and did not land ({', '.join(parts)}): read the reasons and call the county")
    clock = ("" if not waiting.get("quarantined") else
             "；有记录的时间戳超前（本机时钟曾出错）：请校准本机时钟，并请县里工作人员放行（laowu-hub quarantine release），"
             "放行后本村之后的记录会随之送达 a changeset was stamped ahead (this laptop's clock was wrong): fix the clock "
             "and ask county staff to release it (laowu-hub quarantine release); the village's later work lands with it")
    return EXIT_WAITING, (f"有记录尚在等待（隔离、缺前序或版本较新），稍后会自动处理或由县里放行 some changesets are waiting "
                          f"({', '.join(parts)}): they land later by themselves or when county staff release them; "
                          f"run `status` to see them{clock}")
