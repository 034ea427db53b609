{{ config(materialized='table') }}  {#- read by five data tests, the publication (three times) and the pages: computed once -#}
-- The key messages of each public unit and year: a few declared kinds (seed messages_cles), each
-- a row with the figures its sentence says, chosen here and nowhere else. Read only from the
-- public marts (pub_tendances, pub_indicateurs, pub_unites, pub_tableau_de_bord), so that a message never says more
-- than the cells it rests on, and frozen with them at publication. At most five per unit and year,
-- in the kinds' declared order.
--   evolution        the largest changes on a constant panel of at least the minimum of
--                    structures, with a published figure and a verdict other than "stable"
--   part_structures  the largest share of respondents doing something (ratio indicators counting
--                    structures, in the declared rubriques)
--   cible            the federal project's targets as the board judges them: reached, on track,
--                    late (the observatory's main unit only); cible_bilan from the project's last
--                    year on: how many were reached
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
    -- the board's verdicts, counted as the board shows them (pub_tableau_de_bord: the main unit's):
    -- reached, on track, late or off track; from the project's last year on, reached or not
    select case when b.annee >= max(b.annee_cible) then 'cible_bilan' else 'cible' end as type,
           b.annee, b.niveau, b.code,
           count(*) filter (where b.verdict = 'atteinte') as nb_atteints,
           count(*) filter (where b.verdict = 'en_bonne_voie') as nb_bonne_voie,
           count(*) filter (where b.verdict in ('en_retard', 'hors_trajectoire')) as nb_en_retard,
           count(*) as nb_cibles, max(b.annee_cible) as annee_cible, 0 as poids
    from {{ ref('pub_tableau_de_bord') }} as b
    join eligible as e on e.type = 'cible' and e.indicateur = b.indicateur
    where b.verdict_affiche
    group by b.annee, b.niveau, b.code
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
       nb_unites::integer as nb_unites, nb_atteints::integer as nb_atteints,
       nb_bonne_voie::integer as nb_bonne_voie, nb_en_retard::integer as nb_en_retard, nb_cibles::integer as nb_cibles,
       annee_cible::integer as annee_cible, gabarit
from retenus
where ordre <= 5
