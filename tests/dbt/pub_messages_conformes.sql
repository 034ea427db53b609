-- Every key message says what the public marts say: its value is the published cell's, its change
-- the published trend's on a panel of at least the minimum, a rank counts the départements above,
-- the count of targets by verdict is the board's own (pub_tableau_de_bord). Returns the messages that disagree.
with m as (select * from {{ ref('pub_messages') }}),
registre as (select indicateur, coalesce(n_min, {{ var('secret_n_min') }}) as n_min from {{ ref('registre_indicateurs') }}),
valeurs as (
    select m.annee, m.niveau, m.code, m.ordre, 'valeur' as defaut
    from m
    left join {{ ref('pub_indicateurs') }} as i using (indicateur, annee, niveau, code)
    where m.indicateur is not null
      and (i.statut is distinct from 'publie' or i.valeur is distinct from m.valeur
           or i.n_structures is distinct from m.n_structures or i.numerateur is distinct from m.numerateur
           or i.denominateur is distinct from m.denominateur)
),
evolutions as (
    select m.annee, m.niveau, m.code, m.ordre, 'evolution' as defaut
    from m
    join registre as r using (indicateur)
    left join {{ ref('pub_tendances') }} as t using (indicateur, annee, niveau, code)
    where m.type = 'evolution'
      and (t.evolution_un_an is distinct from m.evolution or t.n_panel_un_an is distinct from m.n_panel
           or m.n_panel < r.n_min or t.verdict_un_an is distinct from m.verdict or m.verdict = 'stable')
),
rangs as (
    select m.annee, m.niveau, m.code, m.ordre, 'rang' as defaut
    from m
    where m.type = 'rang'
      and (m.niveau <> 'departement' or m.rang <> 1 + (
            select count(*) from {{ ref('pub_indicateurs') }} as i
            where i.indicateur = m.indicateur and i.annee = m.annee and i.niveau = 'departement'
              and i.statut = 'publie' and i.valeur > m.valeur))
),
cibles as (
    -- the targets' message counts what the board shows, verdict by verdict
    select m.annee, m.niveau, m.code, m.ordre, 'cible' as defaut
    from m
    where m.type in ('cible', 'cible_bilan')
      and (m.nb_atteints, m.nb_bonne_voie, m.nb_en_retard, m.nb_cibles) is distinct from (
            select (count(*) filter (where b.verdict = 'atteinte'),
                    count(*) filter (where b.verdict = 'en_bonne_voie'),
                    count(*) filter (where b.verdict in ('en_retard', 'hors_trajectoire')),
                    count(*))
            from {{ ref('pub_tableau_de_bord') }} as b
            where b.annee = m.annee and b.niveau = m.niveau and b.code = m.code and b.verdict_affiche)
),
trop as (
    select annee, niveau, code, max(ordre) as ordre, 'plus de cinq messages' as defaut
    from m group by annee, niveau, code having count(*) > 5
)
select * from valeurs
union all select * from evolutions
union all select * from rangs
union all select * from cibles
union all select * from trop
