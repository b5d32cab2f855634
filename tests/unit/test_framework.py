from joinedup import framework


def test_twelve_components_in_four_strands_of_three() -> None:
    assert len(framework.COMPONENTS) == 12
    for strand in framework.STRANDS:
        assert len(framework.components_in(strand)) == 3
    assert [c.name for c in framework.COMPONENTS][:3] == ["Insight", "Brokerage", "Design"]
    assert len({c.key for c in framework.COMPONENTS}) == 12


def test_unknown_component_names_the_key() -> None:
    import pytest

    with pytest.raises(KeyError, match="nonsense"):
        framework.component("nonsense")
