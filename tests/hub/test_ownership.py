"""Ownership at the hubs (DESIGN §4, node/engine/ownership.py): a sibling village's genuine key writing,
moving or deleting a village's card is refused at the county per envelope with `not-owner`; the card
stays as its village wrote it at the county and the province, and the village's later edits land."""
from __future__ import annotations

from hubkit import SIBLING, VILLAGE, World, log_envelopes, push, session, value

from node.engine.schema import new_row_id, row_place
from protocol import clock
from protocol.changeset import DELETE_FIELD, DELETE_VALUE, Change, seal

ID_NUMBER = "513225199001011239"


def test_a_sibling_write_move_or_delete_is_refused_at_the_hub(world: World) -> None:
    village = world.node(VILLAGE)
    row = new_row_id(VILLAGE)
    village.write("person", row, {"id_number": ID_NUMBER, "name": "高振强", "phone": "13800000001"})
    world.sync(VILLAGE)
    world.relay()
    thief = world.member(SIBLING)
    token = session(world.county_url, world.county.author, thief.key, SIBLING, world.chain(SIBLING))
    stamp = clock.pack(clock.wall_ms())
    attacks = [
        [Change("person", row, "phone", "13800000002", stamp)],                     # overwrite
        [Change("person", row, "scope", SIBLING, stamp)],                            # move to the sibling
        [Change("person", row, DELETE_FIELD, DELETE_VALUE, stamp)],                  # erase
        [Change("person", new_row_id(SIBLING), "name", "本村人", stamp),               # one foreign change
         Change("person", row, "name", "冒名", stamp)],                               # refuses the whole changeset
    ]
    for changes in attacks:  # each refused, so each is the sibling feed's first changeset again
        cs = seal(thief.key, SIBLING, 1, None, changes)
        [result] = push(world.county_url, token, [cs.envelope])
        assert (result["status"], result["code"]) == ("refused", "not-owner"), result
        assert "belongs to" in str(result["reason"]) or "never move" in str(result["reason"])
        assert cs.id not in log_envelopes(world.county)
    world.relay()
    for hub in (world.county, world.province):
        assert value(hub, "person", row, "phone") == "13800000001"
        assert value(hub, "person", row, "scope") == VILLAGE == row_place(row)
        assert value(hub, "person", row, "name") == "高振强"
    village.write("person", row, {"phone": "13800000003"})
    world.sync(VILLAGE)
    world.relay()
    assert value(world.province, "person", row, "phone") == "13800000003"  # no tombstone stole the card


def test_a_sibling_write_stamped_in_2099_is_refused_at_the_hub_not_quarantined(world: World) -> None:
    """Soak seeds 372 and 502: a sibling village's laptop at 2099 wrote into a village's card. The hub
    quarantined it (the clock is judged before placement) and every release refused it `not-owner`
    and kept it there: a quarantine no one could empty but by declining. Ownership is judged before
    the quarantine, as the scope checks are: refused at once, nothing quarantined, nothing logged."""
    village = world.node(VILLAGE)
    row = new_row_id(VILLAGE)
    village.write("person", row, {"id_number": ID_NUMBER, "name": "高振强", "phone": "13800000001"})
    world.sync(VILLAGE)
    thief = world.member(SIBLING)
    token = session(world.county_url, world.county.author, thief.key, SIBLING, world.chain(SIBLING))
    stamp = clock.pack(4_070_908_800_000)  # 2099-01-01: a clock set by hand
    for changes in ([Change("person", row, "name", "冒名顶替", stamp)],
                    [Change("person", row, "scope", SIBLING, stamp)],
                    [Change("person", row, DELETE_FIELD, DELETE_VALUE, stamp)]):
        cs = seal(thief.key, SIBLING, 1, None, changes)
        [result] = push(world.county_url, token, [cs.envelope])
        assert (result["status"], result["code"]) == ("refused", "not-owner"), result
        assert cs.id not in log_envelopes(world.county)
    assert world.county.status().quarantined == 0
    assert world.county.release_quarantine() == []
    assert value(world.county, "person", row, "name") == "高振强"
    # A 2099 write of the sibling's own card is still only early: quarantined, as before.
    own = seal(thief.key, SIBLING, 1, None, [Change("person", new_row_id(SIBLING), "name", "本村人", stamp)])
    [result] = push(world.county_url, token, [own.envelope])
    assert (result["status"], result["code"]) == ("quarantined", "clock-ahead"), result
