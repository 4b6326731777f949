"""Three tiers, both ways (DESIGN §2, §3, §8): village → county → province byte for byte, and
county and province postings down to every village."""
from __future__ import annotations

from hubkit import COUNTY, PROVINCE, SIBLING, VILLAGE, World, log_envelopes, value

from node.engine.schema import new_row_id
from protocol.changeset import open_envelope

ID_NUMBER = "513225199001011239"


def test_village_registration_reaches_province_byte_identical(world: World) -> None:
    village = world.node(VILLAGE)
    row = new_row_id(VILLAGE)
    village.write("person", row, {"id_number": ID_NUMBER, "name": "张三"})
    world.sync(VILLAGE)
    world.relay()

    mine = {i: e for i, e in log_envelopes(village).items() if open_envelope(e).author == village.author}
    at_province = log_envelopes(world.province)
    assert mine and all(at_province.get(i) == env for i, env in mine.items())
    for env in mine.values():
        cs = open_envelope(env)  # checks the village's own signature over the relayed bytes
        assert cs.author == world.member(VILLAGE).key.public
        world.province.trust.check_write(cs.author, cs.scope, cs.seq, world.province.hlc.physical())
    assert value(world.province, "person", row, "name") == "张三"


def test_county_posting_reaches_both_villages(world: World) -> None:
    row = new_row_id(COUNTY)
    world.county.write("job_posting", row, {"title": "县城电子厂普工", "positions": 30}, scope=COUNTY)
    world.county.seal()
    for code in (VILLAGE, SIBLING):
        world.sync(code)
        assert value(world.node(code), "job_posting", row, "title") == "县城电子厂普工"


def test_province_posting_reaches_every_village(world: World) -> None:
    row = new_row_id(PROVINCE)
    world.province.write("job_posting", row, {"title": "省内对口帮扶岗位"}, scope=PROVINCE)
    world.province.seal()
    world.relay()
    for code in (VILLAGE, SIBLING, "513225103203"):
        world.sync(code)
        assert value(world.node(code), "job_posting", row, "title") == "省内对口帮扶岗位"
