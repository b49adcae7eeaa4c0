"""Each community's organisation: Guanyinli's in code, another's from its JSON file, checked when read."""

from __future__ import annotations

import json

import pytest

from guanyinli.errors import CommunityNotFound
from volunteers import structure
from volunteers.structure import StructureError, Structures, load_file

WUTAISHAN = structure.DEFAULT_DIR / "wutaishan.json"


@pytest.fixture
def folder(tmp_path):
    """A communities folder holding a copy of Wutaishan's file, to spoil one field at a time."""
    (tmp_path / "wutaishan.json").write_text(WUTAISHAN.read_text(encoding="utf-8"), encoding="utf-8")
    return tmp_path


def spoil(folder, change) -> str:
    path = folder / "wutaishan.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return str(path)


def test_wutaishan_file_is_a_whole_community():
    wutaishan = load_file(WUTAISHAN)
    assert wutaishan.community == "wutaishan" and wutaishan.grid_ids() == tuple(range(1, 9))
    assert wutaishan.team_codes == structure.TEAM_CODES
    comprehensive = [g.id for g in wutaishan.grids if g.kind == "comprehensive"]
    assert all(wutaishan.courtyards_of(g) for g in comprehensive), "every comprehensive grid has a courtyard"
    assert wutaishan.grid_of(12) is None and wutaishan.green_spaces_of(4)[0].code == "GS02"


def test_structures_of_the_served_communities(folder):
    config = {"COMMUNITIES": "guanyinli,wutaishan", "COMMUNITIES_DIR": str(folder)}
    structures = Structures(config)
    assert structures.of("guanyinli").grid_ids() == tuple(range(1, 16))
    assert structures.of("wutaishan").grid_ids() == tuple(range(1, 9))
    with pytest.raises(CommunityNotFound, match="nowhere"):
        structures.of("nowhere")


def test_guanyinli_alone_needs_no_file(tmp_path):
    assert Structures({"COMMUNITIES": "guanyinli", "COMMUNITIES_DIR": str(tmp_path)}).of("guanyinli").grids


def test_a_community_without_its_file_is_named(tmp_path):
    with pytest.raises(
        StructureError, match=r"wutaishan\.json: no such file \(the structure of community 'wutaishan'\)"
    ):
        Structures({"COMMUNITIES": "guanyinli,wutaishan", "COMMUNITIES_DIR": str(tmp_path)})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["grids"][2].update(kind="big"), "grids.2.kind: Must be one of: exclusive, comprehensive."),
        (lambda d: d["grids"][0].pop("name"), "grids.0.name: Missing data for required field."),
        (lambda d: d["grids"][1].update(id=1), "grids.1.id: id 1 appears twice"),
        (lambda d: d["teams"][0].update(code="Patrol Team"), "teams.0.code: a code of lowercase letters"),
        (lambda d: d["courtyards"][3].update(grid_id=12), "courtyards.3.grid_id: no grid 12 in grids"),
        (lambda d: d["green_spaces"][0].update(grid_id="2"), "green_spaces.0.grid_id: Not a valid integer."),
        (lambda d: d.update(grids=[]), "grids: Shorter than minimum length 1."),
        (lambda d: d.update(gridz=[]), "gridz: Unknown field."),
        (lambda d: d.update(community="gulou"), "community: 'gulou', but the file is community 'wutaishan'"),
        (lambda d: d["grids"][0].update(neighbours=[9]), "grids.0.neighbours: no other grid 9 in grids"),
        (lambda d: d["grids"][0].update(neighbours=[1]), "grids.0.neighbours: no other grid 1 in grids"),
    ],
)
def test_a_wrong_file_names_the_file_and_the_field(folder, change, message):
    path = spoil(folder, change)
    with pytest.raises(StructureError) as wrong:
        load_file(path)
    assert str(wrong.value).startswith(f"{path}: {message}")


def test_a_grid_may_name_its_neighbours(folder):
    """Optional: a grid without ``neighbours`` borders none the file says; Guanyinli's grids name none."""
    path = spoil(folder, lambda d: d["grids"][0].update(neighbours=[2, 5]))
    wutaishan = load_file(path)
    assert wutaishan.grid_of(1).neighbours == (2, 5) and wutaishan.grid_of(2).neighbours == ()
    assert all(g.neighbours == () for g in structure.guanyinli().grids)


def test_a_file_that_is_not_json_is_named(folder):
    path = folder / "wutaishan.json"
    path.write_text('{"community": "wutaishan",', encoding="utf-8")
    with pytest.raises(StructureError, match=rf"^{path}: not a JSON file"):
        load_file(path)


def test_the_schemas_check_the_current_community(folder):
    """The validators see the structure of the worker's community (``structure.current``)."""
    from guanyinli.errors import InvalidInput
    from guanyinli.schemas import load
    from volunteers import schemas

    wutaishan = load_file(folder / "wutaishan.json")
    token = structure.set_current(lambda: wutaishan)
    try:
        with pytest.raises(InvalidInput, match=r"^grid_id: no grid 12; the grids are 1-8"):
            load(schemas.CreateVolunteerIn, {"name": "赵六", "phone": "13900000009", "grid_id": 12})
        assert load(schemas.CreateVolunteerIn, {"name": "赵六", "phone": "13900000009", "grid_id": 8})["grid_id"] == 8
    finally:
        structure.reset_current(token)
    assert load(schemas.CreateVolunteerIn, {"name": "张三", "phone": "13800000001", "grid_id": 12})["grid_id"] == 12
