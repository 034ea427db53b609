-- Per indicator and unit: value by year, change on the previous year and since the baseline,
-- the same on a constant panel of structures, and progress towards the board's target.
with registre as (select * from {{ ref('registre_indicateurs') }}),
i as (select * from {{ ref('fct_indicateurs') }} where statut <> 'non_disponible'),
mesures as (select * from {{ ref('int_indicateurs__structures') }} where inclus),
paires as (
    select cur.indicateur, cur.annee, 'precedente' as comparaison, cur.code_structure,
           cur.numerateur as num_cur, cur.denominateur as den_cur,
           prev.numerateur as num_prev, prev.denominateur as den_prev
    from mesures as cur
    join mesures as prev
      on prev.indicateur = cur.indicateur and prev.code_structure = cur.code_structure
     and prev.annee = cur.annee - 1
    union all
    select cur.indicateur, cur.annee, 'reference', cur.code_structure,
           cur.numerateur, cur.denominateur, prev.numerateur, prev.denominateur
    from mesures as cur
    join registre as r on r.indicateur = cur.indicateur and cur.annee > r.annee_reference
    join mesures as prev
      on prev.indicateur = cur.indicateur and prev.code_structure = cur.code_structure
     and prev.annee = r.annee_reference
),
totaux_panels as (
    -- plain totals first (median only where the rule is a median), the rule applied after;
    -- a constant panel means nothing for a single structure, so that level is left out
    select p.indicateur, p.annee, p.comparaison, u.niveau, u.code, r.agregat, r.facteur,
           count(*) as n_panel,
           sum(p.num_cur) as s_cur, sum(p.den_cur) as d_cur,
           sum(p.num_prev) as s_prev, sum(p.den_prev) as d_prev,
           median(p.num_cur) filter (where r.agregat = 'mediane') as m_cur,
           median(p.num_prev) filter (where r.agregat = 'mediane') as m_prev
    from paires as p
    join {{ ref('int_unites_structures') }} as u using (annee, code_structure)
    join registre as r using (indicateur)
    where u.niveau <> 'structure'
    group by p.indicateur, p.annee, p.comparaison, u.niveau, u.code, r.agregat, r.facteur
),
panels as (
    select indicateur, annee, comparaison, niveau, code, n_panel,
           {{ valeur_depuis_totaux('agregat', 'n_panel', 's_cur', 'd_cur', 'm_cur') }} * facteur as valeur_panel,
           {{ valeur_depuis_totaux('agregat', 'n_panel', 's_prev', 'd_prev', 'm_prev') }} * facteur
               as valeur_panel_comparee
    from totaux_panels
),
series as (
    select
        i.*,
        r.sens, r.cible, r.annee_reference,
        {{ var('annee_cible') }} as annee_cible,
        lag(i.valeur) over w as valeur_precedente,
        lag(i.annee) over w as annee_precedente,
        max(case when i.annee = r.annee_reference then i.valeur end)
            over (partition by i.indicateur, i.niveau, i.code) as valeur_reference
    from i
    join registre as r using (indicateur)
    window w as (partition by i.indicateur, i.niveau, i.code order by i.annee)
),
calcul as (
    select
        s.*,
        case when s.annee_precedente = s.annee - 1 then s.valeur - s.valeur_precedente end as variation,
        case when s.annee_precedente = s.annee - 1 and s.valeur_precedente <> 0
             then s.valeur / s.valeur_precedente - 1 end as variation_relative,
        case when s.annee > s.annee_reference then s.valeur - s.valeur_reference end as ecart_reference,
        pp.valeur_panel - pp.valeur_panel_comparee as variation_panel,
        pp.n_panel as n_panel_precedente,
        pr.valeur_panel - pr.valeur_panel_comparee as ecart_reference_panel,
        pr.n_panel as n_panel_reference,
        case when s.cible is not null and s.valeur_reference is not null and s.annee > s.annee_reference
             then s.valeur_reference + (s.cible - s.valeur_reference)
                  * least(1.0, (s.annee - s.annee_reference) / greatest(1, s.annee_cible - s.annee_reference))
        end as valeur_attendue,
        case when s.sens = 'hausse' then 1 when s.sens = 'baisse' then -1 else 0 end as signe
    from series as s
    left join panels as pp
      on pp.indicateur = s.indicateur and pp.annee = s.annee and pp.niveau = s.niveau
     and pp.code = s.code and pp.comparaison = 'precedente'
    left join panels as pr
      on pr.indicateur = s.indicateur and pr.annee = s.annee and pr.niveau = s.niveau
     and pr.code = s.code and pr.comparaison = 'reference'
)
select
    indicateur, niveau, code, annee, valeur, statut, n_structures,
    valeur_precedente, variation, variation_relative, variation_panel, n_panel_precedente,
    annee_reference, valeur_reference, ecart_reference, ecart_reference_panel, n_panel_reference,
    cible, annee_cible, valeur_attendue,
    case when cible is not null and valeur_reference is not null and cible <> valeur_reference
         then (valeur - valeur_reference) / (cible - valeur_reference) end as progression_cible,
    case
        when valeur_attendue is null or signe = 0 or niveau not in ('departement', 'national') then null
        when signe * (valeur - valeur_attendue) >= 0 then 'en_bonne_voie'
        when signe * (valeur - valeur_reference) > 0 then 'en_retard'
        else 'hors_trajectoire'
    end as statut_cible
from calcul
