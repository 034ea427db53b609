"""The dbt project's conventions: layer prefixes, and each model's YAML beside its SQL."""
import yaml

from conftest import ROOT

LAYERS = {"staging": ("stg_",), "intermediate": ("int_",), "marts": ("fct_", "dim_", "pub_", "indicateurs")}


def test_every_model_has_its_documented_yaml_beside_it():
    for folder, prefixes in LAYERS.items():
        sqls = sorted((ROOT / "models" / folder).glob("*.sql"))
        assert sqls
        for sql in sqls:
            assert sql.stem.startswith(prefixes), f"{sql.name} does not follow the {folder} naming"
            spec = yaml.safe_load(sql.with_suffix(".yml").read_text(encoding="utf-8"))
            model = spec["models"][0]
            assert model["name"] == sql.stem
            assert len(model.get("description", "")) > 20, f"{sql.stem} has no description"


def test_staging_models_are_named_after_their_source():
    for sql in (ROOT / "models" / "staging").glob("*.sql"):
        source, _, entity = sql.stem.removeprefix("stg_").partition("__")
        assert source and entity, sql.name
