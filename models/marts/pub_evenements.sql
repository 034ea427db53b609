-- The events the yearly charts draw at their years ("2020 : crise sanitaire"), as declared: the
-- public site reads them here, frozen with the year they concern when it is published.
select annee, libelle, ordre
from {{ ref('stg_referentiel__evenements') }}
