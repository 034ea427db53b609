-- Response rate and completeness of the answers by questionnaire block, for the département(s)
-- and France, under the frequency rule (too few respondents: nothing shown but the count of
-- structures invited).
select
    c.annee, c.niveau, c.code, c.bloc, c.n_invites,
    case when publiable then c.n_repondants end as n_repondants,
    case when publiable then round(c.taux_reponse, 3) end as taux_reponse,
    case when publiable then round(c.taux_completude, 3) end as taux_completude
from (
    select *,
           n_repondants >= {{ var('secret_n_min') }}
           or (n_repondants = 0 and n_invites >= {{ var('secret_n_min') }}) as publiable
    from {{ ref('fct_completude') }}
    where niveau in ('departement', 'national')
) as c
