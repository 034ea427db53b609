{{ config(severity='warn', store_failures=true) }}
-- A target of the federal project already passed by the reference year's value (set below the
-- baseline for an indicator meant to rise, or above it for one meant to fall): the board calls it
-- reached from the first year and has no way to measure. Said at each build
-- (observatoire.build names the indicators), for the analyst to review the target. A target equal
-- to the baseline (keep six events a year) is a target of its own: not said.
{%- set nombre = "replace(rtrim(rtrim(round({0}, 6)::decimal(38, 6)::varchar, '0'), '.'), '.', ',')" %}
select distinct
    b.libelle || ' : ' || {{ nombre.format('b.valeur_reference') }} || ' en ' || b.annee_reference
    || ', cible ' || {{ nombre.format('b.cible') }} || ' en ' || b.annee_cible as indicateur
from {{ ref('pub_tableau_de_bord') }} as b
where b.cible is not null and b.valeur_reference is not null
  and ((b.sens = 'hausse' and b.cible < b.valeur_reference)
       or (b.sens = 'baisse' and b.cible > b.valeur_reference))
order by indicateur
