{#- Statistical disclosure control (see int_secret__primaire and int_secret__cellules). -#}

{#- The registry's indicators that fall under the rules (the rest are counts of structures that
    exist, the federation's own activities): a minimum of more than one structure, or the
    dominance rule. From the seed registre_indicateurs as `registre`. -#}
{% macro secret_sensible(registre='registre') -%}
    (coalesce({{ registre }}.n_min, {{ var('secret_n_min') }}) > 1 or coalesce({{ registre }}.dominance, false))
{%- endmacro %}

{#- One structure makes more than the dominance threshold of a total. Both arguments are SQL
    expressions (`b.s0 + sum(...) over w`): each is parenthesised, or the threshold would multiply
    only the first term of a sum. -#}
{% macro secret_domine(plus_forte, total) -%}
    (({{ total }}) > 0 and ({{ plus_forte }}) > {{ var('secret_dominance') }} * ({{ total }}))
{%- endmacro %}

{#- A group of cells is safe to leave derivable when it covers at least the minimum of structures
    and, for magnitudes, no single structure dominates it. -#}
{% macro secret_groupe_sur(n, somme_num, max_num, somme_den, max_den, n_min, dominance) -%}
    ({{ n }} >= {{ n_min }} and not ({{ dominance }} and ({{ secret_domine(max_num, somme_num) }}
                                                      or {{ secret_domine(max_den, somme_den) }})))
{%- endmacro %}

{#- A cell's own figures, carried along the disclosure steps untouched: int_secret__cellules then
    holds all of fct_indicateurs, which reads it without joining 1.7 M cells back to their values. -#}
{% macro secret_portees(alias) -%}
    {%- for col in ['valeur', 'numerateur', 'denominateur', 'n_structures', 'n_population', 'n_contributeurs'] -%}
    {{ alias }}.{{ col }}{{ ', ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{#- Secondary suppression of the cells of level `enfant`, given the final status of their
    parents (CTE `parent`). Defines the CTE named after `enfant`: (indicateur, annee, niveau, code,
    sensible, primaire, motif_primaire, secret, and the cell's own figures `portees`), every cell of
    that level once. Per parent, the withheld children must together be safe, or be none; a
    withheld parent must keep a withheld child (or else it equals the sum of its published
    children). When they are not, further children are withheld, the cheapest first (fewest
    structures, then smallest values, then code): deterministic, and the least loss. -#}
{% macro secret_etape(enfant, parent) %}
{{ enfant }}__enfants as (
    select c.indicateur, c.annee, c.niveau, c.code, c.primaire, c.motif_primaire, c.sensible, c.additif,
           c.n_min, c.dominance, {{ secret_portees('c') }},
           c.n_contributeurs as n, c.somme_abs_num, c.max_abs_num, c.somme_abs_den, c.max_abs_den,
           l.code_parent, p.secret as parent_secret, p.primaire as parent_primaire
    from cellules as c
    left join liens as l on l.annee = c.annee and l.niveau = c.niveau and l.code = c.code
    left join {{ parent }} as p
        on p.indicateur = c.indicateur and p.annee = c.annee and p.code = l.code_parent
    where c.niveau = '{{ enfant }}'
),
{{ enfant }}__besoins as (
    -- parents whose withheld children are not safe as a group (or a withheld parent none of
    -- whose children is withheld): they need more withheld children
    select *
    from (
        select indicateur, annee, code_parent,
               any_value(n_min) as n_min, any_value(dominance) as dominance,
               count(*) filter (where primaire) as k0,
               coalesce(sum(n) filter (where primaire), 0) as n0,
               coalesce(sum(somme_abs_num) filter (where primaire), 0) as s0,
               coalesce(max(max_abs_num) filter (where primaire), 0) as m0,
               coalesce(sum(somme_abs_den) filter (where primaire), 0) as sd0,
               coalesce(max(max_abs_den) filter (where primaire), 0) as md0,
               coalesce(bool_or(parent_secret), false) as parent_secret,
               coalesce(bool_or(parent_primaire), false) as parent_primaire
        from {{ enfant }}__enfants
        where code_parent is not null and sensible and additif
        group by indicateur, annee, code_parent
    )
    where not parent_primaire
      and ((k0 > 0 and not {{ secret_groupe_sur('n0', 's0', 'm0', 'sd0', 'md0', 'n_min', 'dominance') }})
           or (k0 = 0 and parent_secret))
),
{{ enfant }}__candidats as (
    select e.indicateur, e.annee, e.code, e.code_parent,
           row_number() over w as rang,
           {{ secret_groupe_sur('b.n0 + sum(e.n) over w', 'b.s0 + sum(e.somme_abs_num) over w',
                                'greatest(b.m0, max(e.max_abs_num) over w)',
                                'b.sd0 + sum(e.somme_abs_den) over w',
                                'greatest(b.md0, max(e.max_abs_den) over w)', 'b.n_min', 'b.dominance') }} as suffit
    from {{ enfant }}__enfants as e
    join {{ enfant }}__besoins as b using (indicateur, annee, code_parent)
    where not e.primaire and e.n > 0
    window w as (partition by e.indicateur, e.annee, e.code_parent
                 order by e.n, e.somme_abs_num, e.code
                 rows between unbounded preceding and current row)
),
{{ enfant }}__complements as (
    -- the candidates up to the first rank at which the group is safe
    select indicateur, annee, code
    from {{ enfant }}__candidats
    window p as (partition by indicateur, annee, code_parent)
    qualify rang <= coalesce(min(case when suffit then rang end) over p, max(rang) over p)
),
{{ enfant }} as (
    select e.indicateur, e.annee, e.niveau, e.code, e.sensible, e.primaire, e.motif_primaire,
           {{ secret_portees('e') }}, e.primaire or k.code is not null as secret
    from {{ enfant }}__enfants as e
    left join {{ enfant }}__complements as k using (indicateur, annee, code)
)
{%- endmacro %}

{#- Linked indicators (seed relations_indicateurs): the groups of indicators tied, directly or
    through a chain of declared linear relations, to one another. Defines the CTEs
    `liens_membres` and `groupes_lies` (indicateur, groupe): one group per connected set, named
    after its smallest indicator. Only the members among `indicateurs` (a relation) count: a
    member the registry does not hold (an axis a federation does not declare) has no cell. -#}
{% macro secret_groupes_lies(relations, indicateurs) %}
liens_membres as (
    select distinct relation, indicateur from {{ relations }}
    where indicateur in (select indicateur from {{ indicateurs }})
),
liens_aretes as (
    select a.indicateur as de, b.indicateur as vers
    from liens_membres as a join liens_membres as b using (relation)
),
liens_atteints(de, vers) as (
    select de, vers from liens_aretes
    union
    select a.de, e.vers from liens_atteints as a join liens_aretes as e on e.de = a.vers
),
groupes_lies as (
    select de as indicateur, min(vers) as groupe from liens_atteints group by de
)
{%- endmacro %}
