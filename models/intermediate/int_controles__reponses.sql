-- depends_on: {{ ref('stg_senacs__colonnes') }}
-- One row per structure x survey with the derived columns the validation rules look at
-- (expectations/): cross-field gaps, flags and year-on-year factors. Corrections applied.
{%- set mesures = [] -%}
{%- if execute -%}
  {%- set mesures = run_query("select colonne from " ~ ref('stg_senacs__colonnes')
                              ~ " where bloc <> 'identite' order by ordre").columns[0].values() -%}
{%- endif %}
with r as (select * from {{ ref('stg_senacs__reponses') }}),
derivees as (
    select
        r.*,
        r.code_commune in (select code_insee from {{ ref('stg_referentiel__communes') }}) as commune_connue,
        r.annee_donnees between r.annee_enquete - 2 and r.annee_enquete - 1 as annee_donnees_coherente,
        coalesce(caf_ps_agc, 0) + coalesce(caf_ps_acf, 0) + coalesce(caf_autres, 0) + coalesce(communes_interco, 0)
          + coalesce(departement, 0) + coalesce(region, 0) + coalesce(etat, 0) + coalesce(europe, 0)
          + coalesce(usagers, 0) + coalesce(autres_produits, 0) as somme_financeurs,
        case when coalesce(etp_direction, etp_accueil, etp_referent_familles, etp_animation) is not null
             then coalesce(etp_direction, 0) + coalesce(etp_accueil, 0) + coalesce(etp_referent_familles, 0)
                  + coalesce(etp_animation, 0) end as somme_etp_fonctions,
        charges_total / nullif(produits_total, 0) as ratio_charges_produits,
        case when caf_ps_acf > 0 then coalesce(agrement_acf, false) end as acf_avec_agrement,
        case when type_structure = 'EVS' then coalesce(caf_ps_agc, 0) = 0 end as evs_sans_agc,
        case when not est_repondant then 0
        {%- for c in mesures %} + ("{{ c }}" is not null)::int{% endfor %} else 0 end as mesures_non_repondant,
        benevoles_activite + benevoles_instance as benevoles_total   -- unknown if either part is
    from r
),
avec_ecarts as (
    select
        *,
        case when produits_total > 0 and somme_financeurs > 0
             then abs(somme_financeurs - produits_total) / produits_total end as ecart_financeurs,
        somme_etp_fonctions - etp_total as exces_etp_fonctions
    from derivees
),
repondantes as (
    select
        annee_enquete, code_structure,
        lag(annee) over w as annee_precedente,
        lag(annee, 2) over w as annee_avant_precedente,
        {%- for col, prev in [('charges_total', 'charges_precedentes'), ('salaries', 'salaries_precedents'),
                              ('etp_total', 'etp_precedents'), ('benevoles_total', 'benevoles_precedents')] %}
        lag({{ col }}) over w as {{ prev }},
        lag({{ col }}, 2) over w as {{ prev }}_2{{ "," if not loop.last }}
        {%- endfor %}
    from avec_ecarts
    where est_repondant
    window w as (partition by code_structure order by annee, annee_enquete)
)
select
    a.*,
    {%- for col, prev, name in [('charges_total', 'charges_precedentes', 'budget'),
                                 ('salaries', 'salaries_precedents', 'salaries'),
                                 ('etp_total', 'etp_precedents', 'etp'),
                                 ('benevoles_total', 'benevoles_precedents', 'benevoles')] %}
    -- how many times larger (or smaller) than the structure's previous data year; the smaller of
    -- that and the factor against the year before, so that the year *after* a wrong one (which
    -- jumps back to normal) is not flagged too
    case when p.annee_precedente = a.annee - 1 and a.{{ col }} > 0 and p.{{ prev }} > 0
         then least(greatest(a.{{ col }} / p.{{ prev }}, p.{{ prev }} / a.{{ col }}),
                    case when p.annee_avant_precedente = a.annee - 2 and p.{{ prev }}_2 > 0
                         then greatest(a.{{ col }} / p.{{ prev }}_2, p.{{ prev }}_2 / a.{{ col }}) end)
    end as facteur_{{ name }},
    p.{{ prev }} as {{ name }}_annee_precedente{{ "," if not loop.last }}
    {%- endfor %}
from avec_ecarts as a
left join repondantes as p using (annee_enquete, code_structure)
