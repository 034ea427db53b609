-- Published local values (département, France) beside the national SENACS figures.
with r as (select indicateur, coalesce(decimales, 0) as decimales from {{ ref('registre_indicateurs') }})
select
    c.indicateur, c.annee, c.niveau, c.code,
    round(c.valeur, r.decimales) as valeur,
    round(c.valeur_nationale, r.decimales) as valeur_nationale,
    c.annee_nationale, c.ecart_annees, c.note_nationale, c.editeur_source, c.titre_source,
    c.source_nationale, c.type_source
from {{ ref('fct_comparaison_nationale') }} as c
join r using (indicateur)
where c.statut = 'publie'
