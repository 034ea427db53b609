{{ config(materialized='view') }}  {#- read once, by validate, which keeps only what stands out: a table would write 1.7 M rows at national scale for nothing #}
-- depends_on: {{ ref('stg_senacs__colonnes') }}
-- Plausibility of every numeric measure, set-wise: one row per respondent x survey x measure
-- with a known value (corrections applied), compared with
--   * its peers: the modified z-score of DHIS2's outlier analysis, 0.6745 (x - median) / MAD,
--     on the logarithm of the value (counts and amounts are multiplicative), among the
--     structures of the same kind (CS / EVS) and data year (the kind's usual figures when the
--     year has fewer than 10 values);
--   * its own history: the change since the structure's previous known value (at most two years
--     back), as a factor and as a modified z-score among the same peers' changes;
--   * a related field (employees and FTE, charges and produits...): whether it moved with the
--     value, or stands out from its peers as much (a large centre is large everywhere).
-- The thresholds are in expectations/rules.py; this model only measures.
{%- set mesures, entiers = [], [] -%}
{%- if execute -%}
  {%- set colonnes = run_query("select colonne, type_colonne from " ~ ref('stg_senacs__colonnes')
                               ~ " where bloc <> 'identite' and type_colonne in ('int', 'decimal')"
                               ~ " order by ordre") -%}
  {%- set mesures = colonnes.columns[0].values() -%}
  {%- for row in colonnes.rows if row[1] == 'int' %}{% do entiers.append(row[0]) %}{% endfor -%}
{%- endif -%}
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
{#- Small funding lines come and go from one year to the next: no history check (their sum is
    checked against produits_total in int_controles__reponses). -#}
{%- set sans_historique = ['caf_ps_acf', 'caf_autres', 'departement', 'region', 'etat', 'europe', 'usagers',
                           'autres_produits'] -%}
{#- Fields that move together with their related field (a part of a whole does not: a few more
    employees trained while the staff stays put is no contradiction). -#}
{%- set ensemble = ['salaries', 'etp_total', 'charges_total', 'produits_total', 'valorisation_benevolat',
                    'heures_benevolat', 'benevoles_activite', 'habitants_touches', 'familles_touchees'] -%}
{#- Counts (people, projects...) below this are too small for a ratio to mean anything. -#}
{%- set plus_petit_compte = 10 -%}
{#- Totals whose unusually *low* value is worth a look too (elsewhere a low value is legitimate). -#}
{%- set controle_bas = ['charges_total', 'produits_total', 'salaries', 'etp_total', 'habitants_touches'] -%}
{%- set min_valeurs = 10 -%}
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
logs as materialized (
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
),
medianes_pairs as ({{ medianes_robustes('logs', 'log_valeur', 'annee') }}),
stats_pairs as ({{ ecarts_robustes('logs', 'medianes_pairs', 'log_valeur', 'annee', min_valeurs) }}),
medianes_evolution as ({{ medianes_robustes('logs', 'log_evolution', 'periode_evolution') }}),
stats_evolution as ({{ ecarts_robustes('logs', 'medianes_evolution', 'log_evolution', 'periode_evolution', min_valeurs) }}),
mesurees as (
    select
        logs.*,
        exp(p.med) as mediane_pairs,
        0.6745 * (log_valeur - p.med) / nullif(p.mad, 0) as z_pairs,
        -- the reference value against its own year's peers
        0.6745 * abs(ln(nullif(greatest(valeur_reference, 0), 0)) - r.med) / nullif(r.mad, 0) as z_pairs_reference,
        -- the related field against its own peers
        0.6745 * (log_valeur_liee - l.med) / nullif(l.mad, 0) as z_pairs_liee,
        exp(e.med) as evolution_mediane,
        0.6745 * (log_evolution - e.med) / nullif(e.mad, 0) as z_evolution
    from logs
    left join stats_pairs as p
      on p.type_structure = logs.type_structure and p.colonne = logs.colonne and p.periode = logs.annee
    left join stats_pairs as r
      on r.type_structure = logs.type_structure and r.colonne = logs.colonne and r.periode = logs.annee_reference
    left join stats_pairs as l
      on l.type_structure = logs.type_structure and l.colonne = logs.colonne_liee and l.periode = logs.annee
    left join stats_evolution as e
      on e.type_structure = logs.type_structure and e.colonne = logs.colonne and e.periode = logs.periode_evolution
)
select
    annee_enquete, annee as annee_donnees, code_structure, type_structure, ligne_source, colonne, valeur,
    mediane_pairs, z_pairs,
    exp(abs(log_valeur - ln(mediane_pairs))) as facteur_pairs,
    abs(valeur - mediane_pairs) as ecart_pairs,
    -- a change (or a gap to the median) smaller than this is too small to question: a typical
    -- structure's whole value, and for counts at least {{ plus_petit_compte }}
    greatest(mediane_pairs, case when colonne in ({% for c in entiers %}'{{ c }}'{{ ", " if not loop.last }}{% endfor %})
                                 then {{ plus_petit_compte }} else 0 end) as ecart_minimal,
    colonne in ({% for c in controle_bas %}'{{ c }}'{{ ", " if not loop.last }}{% endfor %}) as controle_bas,
    annee_reference, valeur_reference,
    exp(abs(log_evolution)) as facteur_evolution,
    abs(valeur - valeur_reference) as ecart_evolution,
    evolution_mediane, z_evolution,
    colonne not in ({% for c in sans_historique %}'{{ c }}'{{ ", " if not loop.last }}{% endfor %}) as controle_historique,
    -- moving away from what its peers declare (the year *after* a wrong value, which comes back
    -- towards the norm, is not the one to question)
    coalesce(abs(z_pairs) > z_pairs_reference, true) as s_eloigne_des_pairs,
    -- the structure declared about as much the year before: its own history vouches for the value
    coalesce(abs(log_evolution) <= ln(2), false) as conforme_a_l_historique,
    colonne_liee, valeur_liee, valeur_liee_reference,
    -- the related field stands out from its peers the same way, by at least half as much
    coalesce(sign(z_pairs_liee) = sign(z_pairs) and abs(z_pairs_liee) >= abs(z_pairs) / 2, false)
        as pairs_corroboree,
    -- the related field moved the same way, by at least half as much (on a log scale)
    coalesce(sign(log_evolution_liee) = sign(log_evolution)
             and abs(log_evolution_liee) >= abs(log_evolution) / 2, false) as corroboree,
    -- for fields that move together, the related field, known both years, stayed where it was
    -- (within a factor of 1.5): FTE multiplied by 7 with the same staff, staff by 10 with the same FTE
    colonne in ({% for c in ensemble %}'{{ c }}'{{ ", " if not loop.last }}{% endfor %})
        and coalesce(abs(log_evolution_liee) <= ln(1.5), false) as dementie
from mesurees
