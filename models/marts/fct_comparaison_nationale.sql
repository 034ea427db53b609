-- Local values next to the published national SENACS figures (latest published year of each).
with nationale as (
    select *
    from {{ ref('reference_nationale') }}
    where indicateur is not null
    qualify row_number() over (partition by indicateur order by annee desc) = 1
)
select
    i.indicateur, i.annee, i.niveau, i.code, i.valeur, i.statut,
    n.valeur as valeur_nationale, n.annee as annee_nationale, n.note as note_nationale,
    n.source as source_nationale,
    i.valeur - n.valeur as ecart
from {{ ref('fct_indicateurs') }} as i
join nationale as n using (indicateur)
where i.niveau in ('departement', 'national')
