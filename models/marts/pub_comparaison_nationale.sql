-- Published local values (département, France) beside the national SENACS figures. A row that
-- carries no information locally is left out: a share describing where the structures are (a
-- `neutre` share, such as the part in urban areas) that is 0 % or 100 % locally says only that
-- every structure is alike (100 % urban in an all-urban département), whatever France's figure.
with r as (
    select indicateur, coalesce(decimales, 0) as decimales, unite, sens
    from {{ ref('registre_indicateurs') }}
)
select
    c.indicateur, c.annee, c.niveau, c.code,
    round(c.valeur, r.decimales) as valeur,
    round(c.valeur_nationale, r.decimales) as valeur_nationale,
    c.annee_nationale, c.ecart_annees, c.note_nationale, c.editeur_source, c.titre_source,
    c.source_nationale, c.type_source
from {{ ref('fct_comparaison_nationale') }} as c
join r using (indicateur)
where c.statut = 'publie'
  and not (r.unite = 'ratio' and r.sens = 'neutre' and round(c.valeur, r.decimales) in (0, 1))
