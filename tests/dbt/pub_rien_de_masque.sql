-- Nothing withheld is anywhere in the public marts: no value, numerator, denominator or count
-- of a secret cell; no trend figure or verdict resting on a withheld cell; no local value in
-- the national comparison that is not published.
select 'pub_indicateurs' as mart, indicateur, annee, niveau, code
from {{ ref('pub_indicateurs') }}
where statut = 'secret'
  and (valeur is not null or numerateur is not null or denominateur is not null or n_structures is not null
       or valeur_pour_10000 is not null)
union all
select 'pub_indicateurs', indicateur, annee, niveau, code
from {{ ref('pub_indicateurs') }}
where statut = 'non_disponible' and valeur is not null
union all
select 'pub_tendances', indicateur, annee, niveau, code
from {{ ref('pub_tendances') }}
where statut <> 'publie'
  and (valeur is not null or verdict_un_an is not null or evolution_un_an is not null
       or evolution_ensemble_un_an is not null or verdict_reference is not null or evolution_reference is not null
       or evolution_ensemble_reference is not null or valeur_attendue is not null)
union all
select 'pub_comparaison_nationale', c.indicateur, c.annee, c.niveau, c.code
from {{ ref('pub_comparaison_nationale') }} as c
join {{ ref('pub_indicateurs') }} as i using (indicateur, annee, niveau, code)
where i.statut <> 'publie'
