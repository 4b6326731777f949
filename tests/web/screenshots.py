"""Screenshots of the desk's main pages for docs/ and the README (1366×768, Debian's Chromium).

    .venv/bin/python tests/web/screenshots.py        → docs/screenshots/desk-*.png

The same world as the browser tests (real hubs, a real node, the desk on uvicorn), filled with
generated villagers, a posting and a placement, so every page shows what a village sees.
"""
from __future__ import annotations

import random
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from browserkit import chromium, login, new_page  # noqa: E402
from deskkit import PASSWORD, USER, DeskWorld  # noqa: E402

from node.domain import ops  # noqa: E402
from node.domain.generate import credit_code, people  # noqa: E402

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def fill(world: DeskWorld) -> str:
    store = world.node.store()
    try:
        folk = people(random.Random(7), world.place, "新民村", 60, county="九寨沟县", township="漳扎镇",
                      today=date.today())
        rows = []
        for p in folk:
            f = {"id_number": p["id_number"], "name": p["name"], "phone": p["phone"], "education": p["education"],
                 "poverty_status": p["poverty_status"], "employment": "已就业" if p["employed"] else "未就业",
                 "willing_to_migrate": p["willing_to_migrate"], "skills": p["skills"],
                 "intended_region": p["intended_region_class"], "intended_industry": p["intended_industry"]}
            rows.append(ops.register_person(store, {k: v for k, v in f.items() if v not in (None, [])}))
        emp = ops.register_employer(store, {"uscc": credit_code(random.Random(3), "513225"), "name": "九寨沟景区管理局",
                                            "industry": "旅游"})
        until = (date.today() + timedelta(days=60)).isoformat()
        for title, region, pay in (("景区讲解员", "县内", 4200), ("电工", "省内市外", 6500), ("建筑工", "省外", 9000),
                                   ("保洁员", "县内", 3000), ("厨师", "市内县外", 5200)):
            ops.post_job(store, {"employer": emp.hex(), "title": title, "positions": 3, "region_class": region,
                                 "valid_until": until, "pay_high": pay, "industry": "旅游" if region == "县内" else "建筑"})
        ops.add_placement(store, {"person": rows[0].hex(), "employer_name": "九寨沟景区管理局", "position": "讲解员",
                                  "start_date": date.today().isoformat(), "region_class": "县内"}, event="start")
        return rows[0].hex()
    finally:
        store.close()


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    world = DeskWorld(Path(tempfile.mkdtemp(prefix="laowu-shots-")))
    row = fill(world)
    url = world.serve(probe=True)
    try:
        with chromium() as browser:
            page = new_page(browser, url)
            page.goto("/login")
            page.screenshot(path=str(OUT / "desk-login.png"))
            login(page, USER, PASSWORD)
            shots = {"register": "/?q=", "card": f"/person/{row}", "match": f"/match/{row}", "placements": "/placements",
                     "worklist": "/worklist", "sync": "/sync", "import": "/import", "audit": "/audit", "jobs": "/jobs"}
            for name, path in shots.items():
                page.goto(path)
                page.screenshot(path=str(OUT / f"desk-{name}.png"))
            page.goto("/person/new")
            page.fill("#in-id_number", "513225199001011234")
            page.fill("#in-name", "曾志伟")
            page.fill("#in-phone", "1380013800")
            page.click("#save")
            page.screenshot(path=str(OUT / "desk-card-errors.png"))
            page.goto("/sync")
            page.click("#sync-now")
            page.wait_for_url("**/sync")
            page.screenshot(path=str(OUT / "desk-sync-done.png"))
    finally:
        world.close()
    print("\n".join(sorted(str(p) for p in OUT.glob("desk-*.png"))))


if __name__ == "__main__":
    main()
