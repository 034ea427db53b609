-- The subtraction attack (statistical disclosure control): for every parent whose value is
-- published, subtract its published children; what is left is the sum of its withheld
-- children. That group must cover no structure, or at least the indicator's minimum, and (for
-- magnitudes) no single structure may dominate it. Every indicator, year and level; values,
-- numerators and denominators share the same pattern. Only the withheld children are read with
-- their contributions (a group without one is safe), and only the statuses of the parents.
with masquees as (
    select i.indicateur, i.annee, i.niveau, i.code, a.n_contributeurs,
           a.somme_abs_num, a.max_abs_num, a.somme_abs_den, a.max_abs_den
    from {{ ref('fct_indicateurs') }} as i
    join {{ ref('int_secret__primaire') }} as a using (indicateur, annee, niveau, code)
    where i.niveau <> 'structure' and i.statut = 'secret'
),
parents as (
    select indicateur, annee, niveau, code
    from {{ ref('fct_indicateurs') }}
    where niveau <> 'structure' and statut <> 'secret'
),
groupes as (
    select h.annee, h.niveau_parent, h.code_parent, e.indicateur,
           count(*) as enfants_masques,
           coalesce(sum(e.n_contributeurs), 0) as n_masque,
           coalesce(sum(e.somme_abs_num), 0) as s,
           coalesce(max(e.max_abs_num), 0) as m,
           coalesce(sum(e.somme_abs_den), 0) as sd,
           coalesce(max(e.max_abs_den), 0) as md
    from {{ ref('int_unites_hierarchie') }} as h
    join masquees as e on e.annee = h.annee and e.niveau = h.niveau and e.code = h.code
    join parents as p on p.annee = h.annee and p.niveau = h.niveau_parent and p.code = h.code_parent
                     and p.indicateur = e.indicateur
    group by all
)
select g.*, r.n_min
from groupes as g
join {{ ref('registre_indicateurs') }} as r using (indicateur)
where r.agregat <> 'mediane'
  and g.n_masque > 0
  and not {{ secret_groupe_sur('g.n_masque', 'g.s', 'g.m', 'g.sd', 'g.md',
                               'coalesce(r.n_min, ' ~ var('secret_n_min') ~ ')', 'coalesce(r.dominance, false)') }}
