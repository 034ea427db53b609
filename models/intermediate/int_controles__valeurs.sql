{{ config(materialized='table') }}  {#- the values int_controles__mesures scores, written once: its medians are computed
    one at a time over this table (int_controles__medianes, int_controles__ecarts_*), which DuckDB holds within its memory
    limit; in one query with them it did not (a 195 MiB survey file: 21 million values) -#}
-- depends_on: {{ ref('stg_senacs__colonnes') }}
-- Every numeric measure of every respondent x survey with a known value (corrections applied), in
-- long form, with its previous value (at most two years back), its related field and their
-- logarithms: what int_controles__mesures compares with the peers and the history.
{%- set numeriques = mesures_numeriques() -%}
{%- set mesures, entiers = numeriques.mesures, numeriques.entiers -%}
{#- The field whose change confirms a change of this one. -#}
{%- set liees = {
    'salaries': 'etp_total', 'etp_total': 'salaries', 'salaries_cdi': 'salaries', 'salaries_formes': 'salaries',
    'etp_direction': 'etp_total', 'etp_accueil': 'etp_total', 'etp_referent_familles': 'etp_total',
    'etp_animation': 'etp_total', 'charges_total': 'produits_total', 'produits_total': 'charges_total',
    'valorisation_benevolat': 'heures_benevolat', 'heures_benevolat': 'benevoles_activite',
    'benevoles_activite': 'heures_benevolat', 'jeunes_benevoles': 'benevoles_activite',
    'benevoles_instance': 'administrateurs', 'administrateurs': 'benevoles_instance',
    'administrateurs_habitants': 'administrateurs', 'administrateurs_formes': 'administrateurs',
    'habitants_touches': 'familles_touchees', 'familles_touchees': 'habitants_touches',
    'pers_info_droits': 'pers_accomp_droits', 'pers_accomp_droits': 'pers_info_droits',
    'publics_0_5': 'habitants_touches', 'publics_6_11': 'habitants_touches', 'publics_12_17': 'habitants_touches',
    'publics_18_25': 'habitants_touches', 'publics_adultes': 'habitants_touches',
    'publics_seniors': 'habitants_touches', 'caf_ps_agc': 'produits_total', 'caf_ps_acf': 'produits_total',
    'caf_autres': 'produits_total', 'communes_interco': 'produits_total', 'departement': 'produits_total',
    'region': 'produits_total', 'etat': 'produits_total', 'europe': 'produits_total',
    'usagers': 'produits_total', 'autres_produits': 'produits_total'} -%}
{%- set liees_sql -%}
    case colonne{% for c, l in liees.items() %} when '{{ c }}' then '{{ l }}'{% endfor %} end
{%- endset %}
with reponses as (
    -- the previous answer of the same structure, in wide form (one window over structures)
    select
        annee_enquete, annee, code_structure, type_structure, ligne_source,
        lag(annee) over w as annee_reference, null::double as sans_liee
        {%- for c in mesures %},
        "{{ c }}"::double as "{{ c }}", (lag("{{ c }}") over w)::double as "{{ c }}__reference"
        {%- endfor %}
    from {{ ref('stg_senacs__reponses') }}
    where est_repondant
    window w as (partition by code_structure order by annee, annee_enquete)
),
longue as (
    select *
    from reponses
    unpivot include nulls ((valeur, valeur_reference, valeur_liee, valeur_liee_reference) for colonne in (
        {%- for c in mesures %}
        {%- set l = liees.get(c) %}
        ("{{ c }}", "{{ c }}__reference", {{ '"%s"' % l if l else 'sans_liee' }},
         {{ '"%s__reference"' % l if l else 'sans_liee' }}) as "{{ c }}"{{ "," if not loop.last }}
        {%- endfor %}))
    where valeur is not null
),
logs as (
    select
        * exclude (annee_reference, valeur_reference, valeur_liee_reference),
        case when annee_reference >= annee - 2 then annee_reference end as annee_reference,
        case when annee_reference >= annee - 2 then valeur_reference end as valeur_reference,
        case when annee_reference >= annee - 2 then valeur_liee_reference end as valeur_liee_reference,
        {{ liees_sql }} as colonne_liee,
        case when valeur > 0 then ln(valeur) end as log_valeur,
        case when valeur_liee > 0 then ln(valeur_liee) end as log_valeur_liee,
        case when annee_reference >= annee - 2 and valeur > 0 and valeur_reference > 0
             then ln(valeur / valeur_reference) end as log_evolution,
        -- changes are compared with those spanning the same years
        case when annee_reference >= annee - 2 then annee * 10 + (annee - annee_reference) end as periode_evolution,
        case when annee_reference >= annee - 2 and valeur_liee > 0 and valeur_liee_reference > 0
             then ln(valeur_liee / valeur_liee_reference) end as log_evolution_liee
    from longue
)
select * from logs
