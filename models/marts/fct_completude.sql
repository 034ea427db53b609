{{ config(materialized='table') }}
-- Reporting rates (DHIS2-style): response rate per unit and year, and how complete the
-- respondents' answers are in each questionnaire block.
with population as (
    select u.annee, u.niveau, u.code,
           count(*) as n_invites,
           count(*) filter (where s.est_repondant) as n_repondants
    from {{ ref('int_unites_structures') }} as u
    join {{ ref('int_structures_annees') }} as s using (annee, code_structure)
    group by all
),
blocs as (
    select * from {{ ref('int_completude__unites') }}
)
select
    p.annee, p.niveau, p.code, b.bloc,
    p.n_invites, p.n_repondants,
    p.n_repondants / p.n_invites as taux_reponse,
    coalesce(b.cellules_attendues, 0)::bigint as cellules_attendues,
    coalesce(b.cellules_renseignees, 0)::bigint as cellules_renseignees,
    b.cellules_renseignees / nullif(b.cellules_attendues, 0) as taux_completude
from population as p
left join blocs as b using (annee, niveau, code)
