-- The indicator registry as the public reads it: labels, definitions, computation and scope in
-- plain French, with the labels of its codes; no SQL.
with libelles as (select * from {{ ref('libelles_codes') }}),
registre as (select *, row_number() over () as ordre from {{ ref('registre_indicateurs') }})
select
    r.ordre, r.indicateur, r.libelle, r.libelle_court, r.definition,
    coalesce(r.calcul, r.definition) as calcul, coalesce(r.champ, ls.libelle) as champ, r.rubrique,
    r.axe, case when r.axe = 'socle' then 'Chiffres clés SENACS' else x.libelle_axe end as libelle_axe,
    coalesce(x.ordre, 0) as ordre_axe, r.action, a.libelle_action, r.groupes_travail,
    r.maillon, lm.libelle as libelle_maillon, r.source, ls.libelle as libelle_source,
    r.agregat, la.libelle as libelle_agregat, r.unite, lu.libelle as libelle_unite,
    r.sens, lsens.libelle as libelle_sens,
    coalesce(r.n_min, {{ var('secret_n_min') }}) as n_min, coalesce(r.decimales, 0) as decimales,
    r.annee_reference, r.cible, r.comparaison,
    -- a total of people declared by each structure and added up: a person a second centre also
    -- counts is counted twice, and the structures that did not answer are missing; its value is
    -- written with its qualifier ("au moins 45 427"), the methodology says why
    coalesce(r.au_moins, false) as au_moins,
    case when r.au_moins then coalesce(lq.libelle, 'au moins') end as qualificatif,
    -- a count also published per 10,000 inhabitants of its unit (pub_indicateurs.valeur_pour_10000)
    coalesce(r.par_habitant, false) as par_habitant,
    case when r.par_habitant then coalesce(lp.libelle, 'pour 10 000 habitants') end as libelle_pour_10000,
    -- whether a unit's value may stand beside another unit's (its département's, France's): shares,
    -- means and medians compare, counts and totals do not (a commune's 2,956 against the
    -- département's 45,427 says only that the commune is smaller)
    coalesce(r.agregat, '') not in ('compte', 'somme', 'total') as comparable_entre_unites,
    -- what an indicator's page says of its place in the federal project when it is on no axis of it
    case when r.axe = 'socle' or r.axe is null then 'Chiffres clés SENACS' end as libelle_hors_axe,
    -- what its evolutions count, in the words of their reading
    case when r.source = 'activites' then 'activités' else 'structures' end as comptees,
    -- and of its publication under the rule of secrecy
    case when coalesce(r.n_min, {{ var('secret_n_min') }}) > 1
         then 'Publié à partir de ' || coalesce(r.n_min, {{ var('secret_n_min') }}) || ' structures (règle du secret)'
         else 'Toujours publié' end as regle_publication
from registre as r
left join {{ ref('stg_projet__axes') }} as x on x.code_axe = r.axe
left join {{ ref('stg_projet__actions') }} as a on a.code_action = r.action
left join libelles as lm on lm.domaine = 'maillon' and lm.code = r.maillon
left join libelles as ls on ls.domaine = 'source' and ls.code = r.source
left join libelles as la on la.domaine = 'agregat' and la.code = r.agregat
left join libelles as lu on lu.domaine = 'unite' and lu.code = r.unite
left join libelles as lsens on lsens.domaine = 'sens' and lsens.code = r.sens
left join libelles as lq on lq.domaine = 'qualificatif' and lq.code = 'au_moins'
left join libelles as lp on lp.domaine = 'qualificatif' and lp.code = 'pour_10000'
