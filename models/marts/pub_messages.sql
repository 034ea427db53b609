{{ config(materialized='table') }}  {#- read by five data tests, the publication (three times) and the pages: computed once -#}
-- The key messages of each public unit and year: a few declared kinds (seed messages_cles), each
-- a row with the figures its sentence says, chosen here and nowhere else. Read only from the
-- public marts (pub_tendances, pub_indicateurs, pub_unites), so that a message never says more
-- than the cells it rests on, and frozen with them at publication. At most five per unit and year,
-- in the kinds' declared order.
--   evolution        the largest changes on a constant panel of at least the minimum of
--                    structures, with a published figure and a verdict other than "stable"
--   part_structures  the largest share of respondents doing something (ratio indicators counting
--                    structures, in the declared rubriques)
--   cible            how many of the federal project's indicators with a target are on track
--                    (the observatory's main unit only)
--   rang             the best rank of a département among all départements, on an indicator where
--                    a rise is progress (only when several départements are loaded)
--   repondants       how many structures answered the survey, out of how many
with kinds as (
    select type, ordre, nombre, gabarit,
           case when indicateurs is null or trim(indicateurs) = '' then null
                else string_split(indicateurs, '|') end as indicateurs,
           case when rubriques is null or trim(rubriques) = '' then null
                else string_split(rubriques, '|') end as rubriques
    from {{ ref('messages_cles') }}
),
registre as (select * from {{ ref('registre_indicateurs') }}),
eligible as (   -- an indicator a kind may speak of
    select k.type, r.*
    from kinds as k
    join registre as r
      on (k.indicateurs is null or list_contains(k.indicateurs, r.indicateur))
     and (k.rubriques is null or list_contains(k.rubriques, r.rubrique))
),
cellules as (
    select i.indicateur, i.annee, i.niveau, i.code, i.valeur, i.numerateur, i.denominateur, i.n_structures, i.n_total,
           t.unite_evolution, t.verdict_un_an, t.evolution_un_an, t.n_panel_un_an, t.statut_cible, t.cible,
           t.annee_cible
    from {{ ref('pub_indicateurs') }} as i
    left join {{ ref('pub_tendances') }} as t using (indicateur, annee, niveau, code)
    where i.statut = 'publie' and i.valeur is not null
),
evolution as (
    select 'evolution' as type, c.annee, c.niveau, c.code, c.indicateur, c.valeur, c.numerateur, c.denominateur,
           c.n_structures, c.n_total, c.evolution_un_an as evolution, c.unite_evolution,
           c.verdict_un_an as verdict, c.n_panel_un_an as n_panel, c.annee - 1 as annee_precedente,
           abs(c.evolution_un_an) as poids
    from cellules as c
    join eligible as e on e.type = 'evolution' and e.indicateur = c.indicateur
    where e.comparaison = 'panel' and c.evolution_un_an is not null and c.n_panel_un_an is not null
      and c.n_panel_un_an >= coalesce(e.n_min, {{ var('secret_n_min') }})
      and c.verdict_un_an is not null and c.verdict_un_an <> 'stable'
      and c.unite_evolution in ('points', 'pourcent')
),
part as (
    select 'part_structures' as type, c.annee, c.niveau, c.code, c.indicateur, c.valeur, c.numerateur,
           c.denominateur, c.n_structures, c.n_total, c.valeur as poids
    from cellules as c
    join eligible as e on e.type = 'part_structures' and e.indicateur = c.indicateur
    where e.unite = 'ratio' and e.agregat = 'ratio' and e.source = 'enquete' and trim(e.denominateur) = '1'
),
cible as (
    select 'cible' as type, c.annee, c.niveau, c.code,
           count(*) filter (where c.statut_cible = 'en_bonne_voie') as nb_atteints,
           count(*) as nb_cibles, max(c.annee_cible) as annee_cible, 0 as poids
    from cellules as c
    join eligible as e on e.type = 'cible' and e.indicateur = c.indicateur
    join {{ ref('pub_unites') }} as u using (annee, niveau, code)
    where u.est_principal and c.statut_cible is not null
    group by c.annee, c.niveau, c.code
),
departements as (
    select c.*,
           rank() over (partition by c.indicateur, c.annee order by c.valeur desc) as rang,
           count(*) over (partition by c.indicateur, c.annee) as nb_unites
    from cellules as c
    join eligible as e on e.type = 'rang' and e.indicateur = c.indicateur
    where c.niveau = 'departement' and e.sens = 'hausse' and e.unite = 'ratio' and e.source = 'enquete'
),
rang as (
    select 'rang' as type, annee, niveau, code, indicateur, valeur, numerateur, denominateur, n_structures, n_total,
           rang, nb_unites, -rang as poids
    from departements
    where nb_unites > 1
),
repondants as (
    select 'repondants' as type, c.annee, c.niveau, c.code, c.indicateur, c.valeur, c.numerateur, c.denominateur,
           c.n_structures, c.n_total, 0 as poids
    from cellules as c
    join eligible as e on e.type = 'repondants' and e.indicateur = c.indicateur
    where c.numerateur is not null and c.denominateur is not null
),
candidats as (
    select * from evolution
    union all by name select * from part
    union all by name select * from cible
    union all by name select * from rang
    union all by name select * from repondants
),
choisis as (    -- each kind's best candidates, as many as the kind declares
    select m.*, k.ordre as ordre_type, k.gabarit,
           row_number() over (partition by m.annee, m.niveau, m.code, m.type
                              order by m.poids desc, m.indicateur) as rang_type,
           k.nombre
    from candidats as m
    join kinds as k using (type)
),
retenus as (
    select *, row_number() over (partition by annee, niveau, code order by ordre_type, rang_type) as ordre
    from choisis
    where rang_type <= nombre
)
select annee, niveau, code, ordre::integer as ordre, type, indicateur, valeur, numerateur, denominateur,
       n_structures::integer as n_structures, n_total::integer as n_total, evolution, unite_evolution, verdict,
       n_panel::integer as n_panel, annee_precedente::integer as annee_precedente, rang::integer as rang,
       nb_unites::integer as nb_unites, nb_atteints::integer as nb_atteints, nb_cibles::integer as nb_cibles,
       annee_cible::integer as annee_cible, gabarit
from retenus
where ordre <= 5
