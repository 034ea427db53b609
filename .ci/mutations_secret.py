"""Hand mutations of the disclosure-control SQL (macros/secret.sql, the int_secret__ models): each
mutation is applied to a throw-away copy of the repository, and the tests that guard secrecy run
on it: the dbt unit tests of the SQL (tests/test_indicators.py) and tests/test_disclosure.py (a real
dbt build of the demo with the secret models' data tests, then the subtraction and relation
attacks). A mutation is killed when they fail; the unmutated copy must pass first.

    .venv/bin/python .ci/mutations_secret.py            # every mutation, a table at the end
    .venv/bin/python .ci/mutations_secret.py 3 5        # only mutations 3 and 5

mutmut cannot mutate SQL; these are the mutations a careless edit would make (issue 20, item 6).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ["tests/test_indicators.py::test_the_unit_tests_of_the_dbt_sql_pass", "tests/test_disclosure.py"]

# (file, text as written, text as mutated, what the mutation breaks)
MUTATIONS = [
    ("macros/secret.sql", "({{ n }} >= {{ n_min }} and", "({{ n }} > {{ n_min }} and",
     "un groupe de complémentaires sûr à partir du minimum devient « plus que le minimum »"),
    ("macros/secret.sql", "or {{ secret_domine(max_den, somme_den) }}", "or false",
     "dominance regardée sur les numérateurs seulement"),
    ("macros/secret.sql", "({{ plus_forte }}) > {{ var('secret_dominance') }} * ({{ total }})",
     "({{ plus_forte }}) > 10 * {{ var('secret_dominance') }} * ({{ total }})",
     "règle de dominance rendue inopérante"),
    ("macros/secret.sql", "or (k0 = 0 and parent_secret)", "or false",
     "un parent masqué ne garde plus d'enfant masqué"),
    ("macros/secret.sql", "order by e.n, e.somme_abs_num, e.code", "order by e.n desc, e.somme_abs_num, e.code",
     "complémentaires choisis les plus coûteux d'abord"),
    ("models/intermediate/int_secret__primaire.sql", "when a.n_contributeurs < r.n_min and",
     "when a.n_contributeurs <= r.n_min and", "secret de fréquence jusqu'au minimum compris"),
    ("models/intermediate/int_secret__primaire.sql", "or {{ secret_domine('a.max_abs_den', 'a.somme_abs_den') }})",
     "or false)", "secret primaire de dominance sur les numérateurs seulement"),
    ("models/intermediate/int_secret__cellules.sql", "or coalesce(l.secret_groupe, false) as secret", "as secret",
     "les indicateurs liés ne sont plus masqués ensemble"),
    ("models/intermediate/int_secret__primaire.sql", "where a.niveau <> 'structure'", "where true",
     "les chiffres d'une structure deviennent des cellules publiques"),
    # the cells carry their own figures along the tree and are read once (since the national run's memory)
    ("macros/secret.sql", "{{ secret_portees('e') }}, e.primaire or k.code is not null as secret",
     "{{ secret_portees('e') }}, k.code is not null as secret",
     "une cellule sous le secret primaire n'est plus masquée sous le niveau national"),
    ("models/intermediate/int_secret__cellules.sql", "bool_or(f.secret) as secret_groupe",
     "bool_and(f.secret) as secret_groupe",
     "des indicateurs liés masqués ensemble seulement quand tous le sont déjà"),
    ("macros/secret.sql", "c.n_min, c.dominance, {{ secret_portees('c') }},",
     "c.n_min, c.dominance, {{ secret_portees('p') }},",
     "les chiffres d'une cellule pris à son parent"),
]


def apply(copy: Path, mutation) -> None:
    if mutation is None:
        return
    path, before, after, _ = mutation
    target = copy / path
    text = target.read_text(encoding="utf-8")
    if text.count(before) != 1:
        raise SystemExit(f"{path} : le texte à muter n'y est pas exactement une fois : {before!r}")
    target.write_text(text.replace(before, after), encoding="utf-8")


def run(mutation, python: str) -> bool:
    """True when the tests fail on the mutated copy (the mutation is killed)."""
    with tempfile.TemporaryDirectory(prefix="mutation-secret-") as tmp:
        copy = Path(tmp) / "repo"
        shutil.copytree(ROOT, copy, symlinks=True, ignore=shutil.ignore_patterns(
            ".git", ".venv", "sortie", "mutants", "test-artifacts", "__pycache__", ".cache", "target"))
        apply(copy, mutation)
        env = {**os.environ, "XDG_CACHE_HOME": str(Path(tmp) / "cache"), "PYTHONPATH": str(copy)}
        done = subprocess.run([python, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *TESTS],
                              cwd=copy, env=env, capture_output=True, text=True)
        if mutation is None and done.returncode != 0:
            print(done.stdout[-3000:], done.stderr[-2000:], sep="\n")
        return done.returncode != 0


def main() -> None:
    chosen = [int(a) for a in sys.argv[1:]] or range(1, len(MUTATIONS) + 1)
    python = sys.executable
    if run(None, python):
        raise SystemExit("Les tests échouent déjà sans mutation : rien à mesurer.")
    results = []
    for i in chosen:
        mutation = MUTATIONS[i - 1]
        killed = run(mutation, python)
        results.append((i, mutation, killed))
        print(f"{i}. {'tuée' if killed else 'SURVIT'} : {mutation[3]}", flush=True)
    killed = sum(k for *_, k in results)
    print(f"\n{killed} mutations tuées sur {len(results)} ({killed / len(results):.0%}).")


if __name__ == "__main__":
    main()
