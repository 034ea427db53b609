-- Local values next to the published national SENACS figures, like with like: the national
-- figure of the same year when there is one, otherwise the nearest year (the earlier one on a
-- tie), and the gap in years said with it. Between sources of the same year, a publication of
-- the national observatory comes before an institution's, the network's or a press article.
with nationale as (
    select n.*,
           case n.type_source when 'rapport_senacs' then 1 when 'institution' then 2
                              when 'reseau' then 3 else 4 end as rang_source
    from {{ ref('reference_nationale') }} as n
    where n.indicateur is not null
),
locales as (
    select i.indicateur, i.annee, i.niveau, i.code, i.valeur, i.statut
    from {{ ref('fct_indicateurs') }} as i
    where i.niveau in ('departement', 'national')
      and i.indicateur in (select indicateur from nationale)
)
select
    l.indicateur, l.annee, l.niveau, l.code, l.valeur, l.statut,
    n.valeur as valeur_nationale, n.annee as annee_nationale, l.annee - n.annee as ecart_annees,
    n.note as note_nationale, n.editeur as editeur_source, n.titre as titre_source,
    n.source as source_nationale, n.type_source,
    l.valeur - n.valeur as ecart
from locales as l
join nationale as n using (indicateur)
qualify row_number() over (
    partition by l.indicateur, l.annee, l.niveau, l.code
    order by abs(l.annee - n.annee), n.annee, n.rang_source, n.source) = 1
